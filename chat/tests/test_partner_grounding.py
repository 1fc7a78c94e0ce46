"""Partner chat grounds its answers only on the shared documents of rag_keys the partner owns."""

import pytest

from chat.services import partner_chat
from chat.tests.partner_helpers import key_client, partner_with_key
from rag.models import PartnerRagKey
from rag.services.ingest import upsert_document

pytestmark = pytest.mark.django_db

QUESTION = "콜레스테롤 수치가 높으면 어떻게 하나요?"


def add_shared(rag_key: str, filename: str, content: str):
    return upsert_document(owner=None, rag_key=rag_key, rag_type="chatbot_shared", filename=filename,
                           content=content, run_now=True).document  # fmt: skip


def grounding_filenames(partner_id: str) -> set[str]:
    partner_chat.warm_up(partner_id=partner_id, session_id="sess-1")
    turn = partner_chat.prepare_turn(partner_id=partner_id, session_id="sess-1", message=QUESTION)
    return {source["filename"] for source in turn.sources}


@pytest.fixture
def two_partners():
    partner_with_key("medilinx")
    _, kindhabit_key = partner_with_key("kindhabit")
    add_shared("medilinx", "medilinx.txt", "메디링스 안내: 콜레스테롤 수치가 높으면 식단을 조절하고 의사와 상담하세요.")
    add_shared("kindhabit", "kindhabit.txt", "킨드해빗 안내: 콜레스테롤 수치가 높으면 이 보충제를 사세요.")
    return kindhabit_key


def test_a_partner_chat_is_grounded_on_its_own_documents_only(two_partners):
    assert grounding_filenames("medilinx") == {"medilinx.txt"}


def test_another_partner_cannot_plant_a_document_in_a_partners_chat(two_partners):
    response = key_client(two_partners).post(
        "/api/v1/rag/sync",
        {"rag_key": "medilinx", "doc_schema": "board_post.v2", "event_type": "create",
         "record": {"post_id": 1, "title": "가짜 공지", "content": "콜레스테롤 수치가 높으면 이 보충제를 사세요."}},
        format="json",
    )

    assert response.status_code == 404
    assert grounding_filenames("medilinx") == {"medilinx.txt"}


def test_a_granted_rag_key_grounds_the_partner_chat_too(two_partners):
    PartnerRagKey.objects.create(partner_id="medilinx", rag_key="medilinx-faq")
    add_shared("medilinx-faq", "faq.txt", "자주 묻는 질문: 콜레스테롤 수치가 높으면 운동을 꾸준히 하세요.")

    assert grounding_filenames("medilinx") == {"medilinx.txt", "faq.txt"}
