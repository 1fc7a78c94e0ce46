"""Knowledge chat answers questions matching an applied FAQ candidate with its curated answer."""

from analytics.models import FAQCandidate, MessageLog
from analytics.services import knowledge_gaps
from analytics.services.message_logs import flush_log_outbox
from chat.tests.conftest import KNOWLEDGE_KEY


def test_knowledge_chat_answers_with_the_curated_answer_and_logs_it(alice_client, knowledge_corpus):
    candidate = FAQCandidate.objects.create(
        collection_name=KNOWLEDGE_KEY, channel="knowledge", representative="환불은 며칠 안에 신청할 수 있나요?",
        normalized="환불은 며칠 안에 신청할 수 있나요",
    )  # fmt: skip
    source = {"document_id": 1, "doc_id": "faq-1", "chunk_id": 0, "score": 1.0, "filename": "faq.md"}
    knowledge_gaps.apply_curated_answer(candidate, "환불은 구매 후 14일까지 가능합니다(2026 개정).", [source])

    body = alice_client.post(
        "/api/v1/rag/chat", {"message": "환불은 며칠 안에 신청할 수 있나요?", "rag_key": KNOWLEDGE_KEY}, format="json"
    ).json()
    flush_log_outbox()

    assert body["answer"] == "환불은 구매 후 14일까지 가능합니다(2026 개정)."
    assert body["sources"] == [source]
    logged = MessageLog.objects.get(session_id=body["conversation_id"], message_type="assistant")
    assert logged.retrieval_info["curated_faq_id"] == candidate.pk
