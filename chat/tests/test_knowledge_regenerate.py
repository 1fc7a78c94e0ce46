"""POST /api/v1/rag/chat/regenerate: the last answer is replaced and the regeneration counted."""

from analytics.models import MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import KnowledgeConversation, KnowledgeMessage
from chat.tests.conftest import KNOWLEDGE_KEY

URL = "/api/v1/rag/chat/regenerate"


def start(client, message="환불은 며칠 안에 신청할 수 있나요?"):
    return client.post("/api/v1/rag/chat", {"message": message, "rag_key": KNOWLEDGE_KEY}, format="json").json()


def test_regenerate_replaces_the_last_answer(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = "첫 번째 답변입니다."
    first = start(alice_client)
    openai_server.chat_reply = "다시 만든 답변입니다."

    response = alice_client.post(URL, {"conversation_id": first["conversation_id"]}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answer"] == "다시 만든 답변입니다."
    assert body["conversation_id"] == first["conversation_id"]
    messages = KnowledgeMessage.objects.filter(conversation_id=first["conversation_id"])
    assert [(m.role, m.content) for m in messages] == [
        ("user", "환불은 며칠 안에 신청할 수 있나요?"),
        ("assistant", "다시 만든 답변입니다."),
    ]
    assert messages.last().pk == body["message_id"]
    assert body["sources"][0]["filename"] == "refund.txt"


def test_each_regeneration_is_counted(alice_client, knowledge_corpus):
    first = start(alice_client)

    for _ in range(2):
        alice_client.post(URL, {"conversation_id": first["conversation_id"]}, format="json")

    assert KnowledgeConversation.objects.get(pk=first["conversation_id"]).regeneration_count == 2
    assert KnowledgeMessage.objects.filter(conversation_id=first["conversation_id"], role="assistant").count() == 1


def test_regeneration_answers_the_last_question_with_the_earlier_turns_as_history(
    alice_client, knowledge_corpus, openai_server
):
    first = start(alice_client, "환불 기간은?")
    alice_client.post(
        "/api/v1/rag/chat",
        {"message": "배송은 언제 출고되나요?", "conversation_id": first["conversation_id"]},
        format="json",
    )

    alice_client.post(URL, {"conversation_id": first["conversation_id"]}, format="json")

    prompt = openai_server.requests_to("/chat/completions")[-1].json["messages"]
    assert [m["content"] for m in prompt[1:]] == ["환불 기간은?", first["answer"], "배송은 언제 출고되나요?"]


def test_regeneration_is_logged_as_regenerated(alice_client, knowledge_corpus):
    first = start(alice_client)

    alice_client.post(URL, {"conversation_id": first["conversation_id"]}, format="json")
    flush_log_outbox()

    logs = MessageLog.objects.filter(session_id=first["conversation_id"], message_type="assistant")
    assert sorted(logs.values_list("regenerated", flat=True)) == [False, True]


def test_failed_regeneration_keeps_the_previous_answer(alice_client, knowledge_corpus, openai_server):
    first = start(alice_client)
    openai_server.fail_next(10, status=500)

    response = alice_client.post(URL, {"conversation_id": first["conversation_id"]}, format="json")

    assert response.status_code == 503
    answer = KnowledgeMessage.objects.get(conversation_id=first["conversation_id"], role="assistant")
    assert (answer.pk, answer.content, answer.status) == (first["message_id"], first["answer"], "complete")
    assert KnowledgeConversation.objects.get(pk=first["conversation_id"]).regeneration_count == 0


def test_regenerating_someone_elses_conversation_is_not_found(alice_client, bob_client, knowledge_corpus):
    bobs = start(bob_client)

    response = alice_client.post(URL, {"conversation_id": bobs["conversation_id"]}, format="json")

    assert response.status_code == 404
    assert KnowledgeConversation.objects.get(pk=bobs["conversation_id"]).regeneration_count == 0


def test_a_conversation_without_a_question_has_nothing_to_regenerate(alice_client):
    empty = KnowledgeConversation.objects.create(user=alice_client.user, rag_key=KNOWLEDGE_KEY)

    response = alice_client.post(URL, {"conversation_id": str(empty.pk)}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nothing_to_regenerate"


def test_regenerate_validates_its_input(alice_client):
    response = alice_client.post(URL, {"conversation_id": "not-a-uuid", "temperature": 9}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"conversation_id", "temperature"}


def test_a_stream_flag_that_is_neither_true_nor_false_is_400_and_keeps_the_answer(alice_client, knowledge_corpus):
    first = start(alice_client)

    response = alice_client.post(f"{URL}?stream=yes", {"conversation_id": first["conversation_id"]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"stream"}
    assert KnowledgeConversation.objects.get(pk=first["conversation_id"]).regeneration_count == 0


def test_stream_0_answers_in_plain_json(alice_client, knowledge_corpus):
    first = start(alice_client)

    response = alice_client.post(f"{URL}?stream=0", {"conversation_id": first["conversation_id"]}, format="json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["conversation_id"] == first["conversation_id"]
