"""Knowledge chat answers questions matching an applied FAQ candidate with its curated answer."""

from analytics.models import FAQCandidate, MessageLog
from analytics.services import curated_answers
from analytics.services.message_logs import flush_log_outbox
from chat.tests.conftest import KNOWLEDGE_KEY


def test_knowledge_chat_answers_with_the_curated_answer_and_logs_it(alice_client, knowledge_corpus):
    candidate = FAQCandidate.objects.create(
        collection_name=KNOWLEDGE_KEY, channel="knowledge", representative="환불은 며칠 안에 신청할 수 있나요?",
        normalized="환불은 며칠 안에 신청할 수 있나요",
    )  # fmt: skip
    source = {"document_id": 1, "doc_id": "faq-1", "chunk_id": 0, "score": 1.0, "filename": "faq.md"}
    curated_answers.apply_curated_answer(candidate, "환불은 구매 후 14일까지 가능합니다(2026 개정).", [source])

    body = alice_client.post(
        "/api/v1/rag/chat", {"message": "환불은 며칠 안에 신청할 수 있나요?", "rag_key": KNOWLEDGE_KEY}, format="json"
    ).json()
    flush_log_outbox()

    assert body["answer"] == "환불은 구매 후 14일까지 가능합니다(2026 개정)."
    assert body["sources"] == [source]
    logged = MessageLog.objects.get(session_id=body["conversation_id"], message_type="assistant")
    assert logged.retrieval_info["curated_faq_id"] == candidate.pk


def test_a_candidate_published_as_a_shared_document_is_found_by_retrieval(alice_client, knowledge_corpus):
    candidate = FAQCandidate.objects.create(
        collection_name=KNOWLEDGE_KEY, channel="knowledge", representative="사내 동호회 가입은 어떻게 하나요?",
        normalized="사내 동호회 가입은 어떻게 하나요", curated_answer="동호회 가입은 인트라넷 게시판에서 신청합니다.",
    )  # fmt: skip

    curated_answers.publish_as_shared_document(candidate, run_now=True)

    body = alice_client.post(
        "/api/v1/rag/chat", {"message": "동호회 가입 방법", "rag_key": KNOWLEDGE_KEY}, format="json"
    ).json()
    assert body["sources"][0]["filename"] == f"faq-{candidate.pk}.md"
    candidate.refresh_from_db()
    assert (candidate.status, candidate.shared_document_rag_key) == ("applied", KNOWLEDGE_KEY)
