"""Fixtures for the chat app's tests."""

import pytest

from config.live_server import LiveAsgiServer
from rag.tests.openai_server import openai_server  # noqa: F401  (the loopback OpenAI stub fixture)


@pytest.fixture
def live_asgi_server(transactional_db):
    """The project's ASGI app on a real uvicorn server (127.0.0.1, random port); `.url` is its base URL."""
    with LiveAsgiServer() as server:
        yield server


# --- knowledge chat ---------------------------------------------------------------------------

KNOWLEDGE_KEY = "kchat_support"
SHARED_DOCUMENTS = {
    "refund.txt": (
        "환불 정책: 상품을 받은 날부터 7일 이내에 환불을 신청할 수 있습니다. "
        "환불 금액은 영업일 기준 3일 안에 원래 결제 수단으로 돌려드립니다."
    ),
    "shipping.txt": (
        "배송 안내: 평일 오후 2시 이전에 주문하면 당일 출고됩니다. 제주와 도서 산간 지역은 배송비 3천원이 추가됩니다."
    ),
    "membership.txt": (
        "회원 등급 안내: 연간 구매 금액이 50만원 이상이면 골드 등급이 되어 구매 금액의 5%를 적립해 드립니다."
    ),
}
PRIVATE_NOTES = {
    "alice": "개인 메모: 우리 프로젝트의 코드명은 파란고래이고 출시일은 3월 2일입니다.",
    "bob": "개인 메모: 우리 프로젝트의 코드명은 붉은여우이고 출시일은 9월 9일입니다.",
}


def add_document(*, owner, filename: str, content: str, rag_key: str = KNOWLEDGE_KEY):
    """A searchable document made through the RAG ingestion service (chunked and embedded now)."""
    from rag.services.ingest import upsert_document

    rag_type = "user_isolated" if owner is not None else "chatbot_shared"
    return upsert_document(
        owner=owner, rag_key=rag_key, rag_type=rag_type, filename=filename, content=content, run_now=True
    ).document


@pytest.fixture
def knowledge_corpus(db):
    """Three shared policy documents in KNOWLEDGE_KEY, with filenames as keys."""
    return {name: add_document(owner=None, filename=name, content=text) for name, text in SHARED_DOCUMENTS.items()}


@pytest.fixture
def private_notes(knowledge_corpus, alice_client, bob_client):
    """Alice's and Bob's own (user_isolated) notes in KNOWLEDGE_KEY, naming different code names."""
    return {
        name: add_document(owner=client.user, filename=f"{name}_notes.txt", content=PRIVATE_NOTES[name])
        for name, client in (("alice", alice_client), ("bob", bob_client))
    }
