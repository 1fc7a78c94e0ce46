"""The knowledge chat knows when its documents do not answer: below the relevance floor it says so."""

import pytest

from analytics.models import ConversationHistory, MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import KnowledgeMessage
from chat.services.knowledge_chat import NO_CONTEXT_ANSWER
from chat.tests.conftest import KNOWLEDGE_KEY
from chat.tests.test_knowledge_streaming import stream_in_process
from rag.providers.prompts import NO_ANSWER_MARK

URL = "/api/v1/rag/chat"
UNRELATED = ["전혀 관계없는 우주선 질문", "🚀", "은 는 이 가"]


def ask(client, message, **extra):
    return client.post(URL, {"message": message, "rag_key": KNOWLEDGE_KEY, **extra}, format="json")


def logged_retrieval(conversation_id) -> dict:
    flush_log_outbox()
    return MessageLog.objects.get(session_id=conversation_id, message_type="assistant").retrieval_info


@pytest.mark.parametrize("question", UNRELATED)
def test_an_unrelated_question_gets_the_no_answer_reply(alice_client, knowledge_corpus, openai_server, question):
    response = ask(alice_client, question)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answer"] == NO_CONTEXT_ANSWER
    assert body["sources"] == []
    assert openai_server.requests_to("/chat/completions") == []  # nothing to ground an answer on


@pytest.mark.parametrize("question", UNRELATED)
def test_an_unrelated_question_is_logged_as_no_answer(alice_client, knowledge_corpus, settings, question):
    body = ask(alice_client, question).json()

    info = logged_retrieval(body["conversation_id"])
    assert info["no_answer"] is True
    assert info["model_abstained"] is False  # the floor refused it: no model was asked
    assert info["retrieved_count"] == 0
    assert info["relevance_floor"] == settings.RAG_RELEVANCE_FLOOR
    assert len(info["relevance"]) == len(info["top_scores"])  # the candidates that fell short, if any
    assert all(relevance < settings.RAG_RELEVANCE_FLOOR for relevance in info["relevance"])


def test_a_covered_question_is_answered_from_chunks_above_the_floor(alice_client, knowledge_corpus, settings):
    body = ask(alice_client, "환불 기간은?").json()

    assert body["answer"] != NO_CONTEXT_ANSWER
    assert body["sources"][0]["filename"] == "refund.txt"
    info = logged_retrieval(body["conversation_id"])
    assert info["no_answer"] is False
    assert info["top_scores"] == [source["score"] for source in body["sources"]]
    assert len(info["relevance"]) == len(body["sources"])
    assert all(relevance >= settings.RAG_RELEVANCE_FLOOR for relevance in info["relevance"])


def test_the_floor_is_a_setting(alice_client, knowledge_corpus, settings):
    settings.RAG_RELEVANCE_FLOOR = 0.999

    body = ask(alice_client, "환불 기간은?").json()

    assert body["answer"] == NO_CONTEXT_ANSWER


def test_a_no_answer_conversation_is_always_kept_by_sampling(alice_client, knowledge_corpus, settings):
    # Smart sampling keeps conversations whose lowest retrieval score is < 0.5 (a calibrated probability
    # that the chunk answers): a no-answer turn logs the candidates that fell short, all far below it.
    settings.CONVERSATION_SAMPLE_RATE = 0.0

    body = ask(alice_client, UNRELATED[0]).json()

    flush_log_outbox()
    history = ConversationHistory.objects.get(conversation_id=body["conversation_id"])
    assert history.is_sampled
    assert history.min_retrieval_score < 0.5


# --- the model's own no-answer: a page about the topic passes the floor, but does not hold the answer ------


def test_the_prompt_asks_the_model_to_abstain_with_the_mark(alice_client, knowledge_corpus, openai_server):
    ask(alice_client, "환불 기간은?")

    (request,) = openai_server.requests_to("/chat/completions")
    assert NO_ANSWER_MARK in request.json["messages"][0]["content"]


def test_a_model_that_abstains_gets_the_no_answer_reply(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = NO_ANSWER_MARK

    body = ask(alice_client, "환불 기간은?").json()

    assert body["answer"] == NO_CONTEXT_ANSWER
    assert body["sources"] == []
    assert KnowledgeMessage.objects.get(pk=body["message_id"]).content == NO_CONTEXT_ANSWER


def test_a_model_that_abstains_is_logged_as_no_answer(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = NO_ANSWER_MARK

    body = ask(alice_client, "환불 기간은?").json()

    info = logged_retrieval(body["conversation_id"])
    assert info["no_answer"] is True
    assert info["model_abstained"] is True
    assert info["retrieved_count"] == 0


def test_a_streamed_abstention_sends_only_the_no_answer_reply(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = f"{NO_ANSWER_MARK} 자료에 없는 내용입니다."

    events = stream_in_process(alice_client, {"message": "환불 기간은?", "rag_key": KNOWLEDGE_KEY})

    assert "".join(data["text"] for name, data in events if name == "token") == NO_CONTEXT_ANSWER
    name, done = events[-1]
    assert name == "done"
    assert done["sources"] == []
    assert KnowledgeMessage.objects.get(pk=done["message_id"]).content == NO_CONTEXT_ANSWER


def test_a_streamed_answer_is_sent_whole_when_the_model_answers(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = "[1] 환불은 받은 날부터 7일 이내에 신청할 수 있습니다."

    events = stream_in_process(alice_client, {"message": "환불 기간은?", "rag_key": KNOWLEDGE_KEY})

    assert "".join(data["text"] for name, data in events if name == "token") == openai_server.chat_reply
    assert [source["filename"] for source in events[-1][1]["sources"]][:1] == ["refund.txt"]
