"""The knowledge chat APIs over shared documents answer while Redis is down (the shared-results cache
degrades to uncached search)."""

from chat.tests.conftest import KNOWLEDGE_KEY
from chat.tests.test_knowledge_streaming import stream_in_process

QUESTION = {"message": "환불은 며칠 안에 신청할 수 있나요?", "rag_key": KNOWLEDGE_KEY, "rag_type": "chatbot_shared"}


def test_a_shared_knowledge_chat_answers_while_redis_is_down(alice_client, knowledge_corpus, redis_down):
    response = alice_client.post("/api/v1/rag/chat", QUESTION, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["sources"][0]["filename"] == "refund.txt"


def test_a_shared_knowledge_stream_answers_while_redis_is_down(alice_client, knowledge_corpus, redis_down):
    events = stream_in_process(alice_client, QUESTION)

    assert events[-1][0] == "done"
    assert events[-1][1]["sources"][0]["filename"] == "refund.txt"


def test_regenerate_and_conversations_answer_while_redis_is_down(alice_client, knowledge_corpus, redis_down):
    conversation_id = alice_client.post("/api/v1/rag/chat", QUESTION, format="json").json()["conversation_id"]

    regenerated = alice_client.post("/api/v1/rag/chat/regenerate", {"conversation_id": conversation_id}, format="json")
    listed = alice_client.get("/api/v1/rag/conversations")
    detail = alice_client.get(f"/api/v1/rag/conversations/{conversation_id}")

    assert [regenerated.status_code, listed.status_code, detail.status_code] == [200, 200, 200]
