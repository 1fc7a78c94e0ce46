"""POST /api/v1/rag/chat: grounded plain answers, conversations, parameters, logging."""

import pytest

from analytics.models import MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import KnowledgeConversation, KnowledgeMessage
from chat.tests.conftest import KNOWLEDGE_KEY

URL = "/api/v1/rag/chat"


def ask(client, message, **extra):
    return client.post(URL, {"message": message, "rag_key": KNOWLEDGE_KEY, **extra}, format="json")


def test_answer_is_grounded_in_the_matching_document(alice_client, knowledge_corpus):
    response = ask(alice_client, "환불은 며칠 안에 신청할 수 있나요?", rag_type="chatbot_shared")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sources"][0]["filename"] == "refund.txt"
    assert "7일" in body["answer"]
    assert body["route"] == "rag"


def test_sources_name_the_document_chunk_and_score(alice_client, knowledge_corpus):
    body = ask(alice_client, "제주 지역 배송비가 추가되나요?").json()

    top = body["sources"][0]
    document = knowledge_corpus["shipping.txt"]
    assert top["document_id"] == document.pk
    assert top["doc_id"] == document.doc_id
    assert top["chunk_id"] == document.chunks.get().pk
    assert 0 < top["score"] <= 1
    assert [s["score"] for s in body["sources"]] == sorted((s["score"] for s in body["sources"]), reverse=True)


def test_first_message_creates_a_conversation_of_the_user(alice_client, knowledge_corpus):
    body = ask(alice_client, "골드 등급 조건이 뭐예요?").json()

    conversation = KnowledgeConversation.objects.get(pk=body["conversation_id"])
    assert conversation.user == alice_client.user
    assert (conversation.rag_key, conversation.rag_type) == (KNOWLEDGE_KEY, "both")
    assert conversation.title == "골드 등급 조건이 뭐예요?"
    assert list(conversation.messages.values_list("role", "content")) == [
        ("user", "골드 등급 조건이 뭐예요?"),
        ("assistant", body["answer"]),
    ]
    assert body["message_id"] == conversation.messages.get(role="assistant").pk


def test_conversation_id_continues_the_conversation_with_its_history(alice_client, knowledge_corpus, openai_server):
    first = ask(alice_client, "환불 기간은?").json()

    second = alice_client.post(
        URL, {"message": "배송은 언제 출고되나요?", "conversation_id": first["conversation_id"]}, format="json"
    )

    assert second.json()["conversation_id"] == first["conversation_id"]
    assert KnowledgeConversation.objects.count() == 1
    assert KnowledgeMessage.objects.filter(conversation_id=first["conversation_id"]).count() == 4
    last_prompt = openai_server.requests_to("/chat/completions")[-1].json["messages"]
    assert [m["content"] for m in last_prompt[1:]] == ["환불 기간은?", first["answer"], "배송은 언제 출고되나요?"]


def test_users_own_documents_answer_only_their_own_questions(alice_client, private_notes):
    body = ask(alice_client, "우리 프로젝트 코드명이 뭐였지?", rag_type="user_isolated").json()

    assert {s["filename"] for s in body["sources"]} == {"alice_notes.txt"}
    assert "파란고래" in body["answer"]
    assert "붉은여우" not in body["answer"]


def test_generation_params_reach_the_llm(alice_client, knowledge_corpus, openai_server):
    ask(alice_client, "환불 기간은?", temperature=1.5, top_p=0.5, max_tokens=77, reasoning_level="high")

    sent = openai_server.requests_to("/chat/completions")[-1].json
    assert (sent["temperature"], sent["top_p"], sent["max_tokens"]) == (1.5, 0.5, 77)
    stored = KnowledgeMessage.objects.get(role="assistant")
    assert stored.llm_params == {"temperature": 1.5, "top_p": 0.5, "max_tokens": 77, "reasoning_level": "high"}
    assert stored.llm_model == "stub-llm"
    assert stored.usage["total_tokens"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {"temperature": 2.1},
        {"temperature": -0.1},
        {"top_p": 1.01},
        {"max_tokens": 0},
        {"max_tokens": 4097},
        {"reasoning_level": "extreme"},
        {"temperature": "hot"},
    ],
)
def test_params_out_of_bounds_are_refused_with_400(alice_client, params):
    response = ask(alice_client, "환불 기간은?", **params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["details"]) == set(params)
    assert not KnowledgeConversation.objects.exists()


def test_a_new_conversation_needs_a_rag_key(alice_client):
    response = alice_client.post(URL, {"message": "안녕하세요"}, format="json")

    assert response.status_code == 400
    assert "rag_key" in response.json()["error"]["details"]


def test_a_blank_message_is_refused(alice_client):
    assert ask(alice_client, "   ").status_code == 400


def test_someone_elses_conversation_id_is_not_found(alice_client, bob_client, knowledge_corpus):
    bobs = ask(bob_client, "환불 기간은?").json()

    response = alice_client.post(URL, {"message": "배송은?", "conversation_id": bobs["conversation_id"]}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert KnowledgeMessage.objects.filter(conversation_id=bobs["conversation_id"]).count() == 2


def test_a_conversation_keeps_its_knowledge_base(alice_client, knowledge_corpus):
    first = ask(alice_client, "환불 기간은?").json()

    response = alice_client.post(
        URL, {"message": "배송은?", "conversation_id": first["conversation_id"], "rag_key": "other"}, format="json"
    )

    assert response.status_code == 400
    assert "rag_key" in response.json()["error"]["details"]


def test_partner_keys_cannot_use_knowledge_chat(db, partner_client):
    assert ask(partner_client, "환불 기간은?").status_code == 403


def test_anonymous_requests_are_refused(db, api_client):
    assert ask(api_client, "환불 기간은?").status_code == 401


def test_each_turn_is_logged_with_retrieval_and_performance(alice_client, knowledge_corpus):
    body = ask(alice_client, "환불은 며칠 안에 신청할 수 있나요?", reasoning_level="low").json()
    flush_log_outbox()

    user_log, assistant_log = MessageLog.objects.filter(session_id=body["conversation_id"]).order_by("created_at")
    assert (user_log.channel, user_log.collection_name, user_log.message_type) == ("knowledge", KNOWLEDGE_KEY, "user")
    assert assistant_log.content == body["answer"]
    assert assistant_log.reasoning_level == "low"
    info = assistant_log.retrieval_info
    assert info["query"] == "환불은 며칠 안에 신청할 수 있나요?"
    assert info["retrieved_count"] == len(body["sources"])
    assert info["top_scores"] == [s["score"] for s in body["sources"]]
    assert set(assistant_log.performance) >= {"response_time_ms", "token_count", "retrieval_time_ms"}
    assert not assistant_log.regenerated


def test_provider_failure_answers_503_and_keeps_the_failed_turn(alice_client, knowledge_corpus, openai_server):
    openai_server.fail_next(10, status=500)

    response = ask(alice_client, "환불 기간은?")

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "generation_failed"
    failed = KnowledgeMessage.objects.get(pk=error["details"]["message_id"])
    assert (failed.status, failed.role) == ("error", "assistant")
    assert "500" in failed.error
    flush_log_outbox()
    assert MessageLog.objects.get(session_id=error["details"]["conversation_id"], message_type="assistant").error
