"""The SQL|RAG route inside the knowledge chat: staff statistics by SQL, anything unsafe answered by RAG."""

import json

import pytest

from analytics.models import ConversationHistory, LogOutboxRecord, MessageLog
from chat.models import KnowledgeConversation, KnowledgeMessage, RouteDecisionLog
from chat.tests.conftest import KNOWLEDGE_KEY
from chat.tests.hostile_sql import HOSTILE_SQL
from chat.tests.router_support import catalogue, database_state  # noqa: F401  (catalogue is a fixture)

URL = "/api/v1/rag/chat"
HOSTILE_BATCHES = 4  # every statement is tried; batches let `pytest -n` spread them over workers
RAG_ANSWER = "문서에 따르면 환불은 7일 이내에 신청할 수 있습니다."
# Tables the chat itself writes on every turn; their sequences advance, nothing else may change.
CHAT_TABLES = tuple(
    model._meta.db_table
    for model in (
        KnowledgeConversation, KnowledgeMessage, LogOutboxRecord, MessageLog, ConversationHistory, RouteDecisionLog
    )
)


def llm(*, route="sql", sql="SELECT 1"):
    """Stub replies by prompt: routing -> {"route"}, SQL writing -> {"sql"}, the RAG answer -> text."""

    def reply(request: dict) -> str:
        system = next((m["content"] for m in request["messages"] if m["role"] == "system"), "")
        if "<context>" in system:
            return RAG_ANSWER
        if '"route"' in system:
            return json.dumps({"route": route, "reason": "집계 질문입니다."}, ensure_ascii=False)
        return json.dumps({"sql": sql}, ensure_ascii=False)

    return reply


def ask(client, message="가게가 몇 개야?"):
    return client.post(URL, {"message": message, "rag_key": KNOWLEDGE_KEY}, format="json")


def unchanged_state():
    state = database_state()
    state["sequences"] = [row for row in state["sequences"] if not row[1].startswith(CHAT_TABLES)]
    return state


def test_staff_statistics_question_is_answered_by_sql(staff_client, catalogue, openai_server):  # noqa: F811
    openai_server.chat_reply = llm(sql='SELECT count(*) AS "가게 수" FROM shops')

    body = ask(staff_client).json()

    assert body["route"] == "sql"
    assert "가게 수" in body["answer"] and "3" in body["answer"]
    assert body["sources"] == []
    assert KnowledgeMessage.objects.get(pk=body["message_id"]).route == "sql"


def test_non_staff_questions_never_reach_the_router_llm(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = llm(sql="SELECT count(*) FROM shops")

    body = ask(alice_client).json()

    assert body["route"] == "rag"
    systems = [r.json["messages"][0]["content"] for r in openai_server.requests_to("/chat/completions")]
    assert not any('"route"' in system for system in systems)


def test_rejected_sql_falls_back_to_rag_and_the_answer_says_so(staff_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = llm(sql="DELETE FROM shops")

    body = ask(staff_client, "환불은 며칠 안에 가능해?").json()

    assert body["route"] == "rag"
    notice, _, answer = body["answer"].partition("\n\n")
    assert "문서 검색" in notice
    assert answer == RAG_ANSWER
    assert body["sources"][0]["filename"] == "refund.txt"


@pytest.mark.parametrize("batch", range(HOSTILE_BATCHES), ids=lambda batch: f"batch{batch}")
def test_hostile_sql_from_the_llm_is_never_run_and_rag_answers(
    batch,
    staff_client,
    catalogue,  # noqa: F811
    knowledge_corpus,
    openai_server,
    settings,
):
    settings.API_RATE_LIMIT = "100000/min"
    settings.EMBEDDING_BASE_URL = ""  # only the LLM needs the stub here; embed queries locally (faster)
    openai_server.chat_reply = llm(sql="SELECT 1")
    ask(staff_client)  # first use creates the reader role; the snapshot starts after it
    before = unchanged_state()
    failures = []

    for statement in HOSTILE_SQL[batch::HOSTILE_BATCHES]:
        openai_server.chat_reply = llm(sql=statement)
        response = ask(staff_client, "환불은 며칠 안에 가능해?")  # a question the documents cover
        body = response.json()
        notice, _, answer = body.get("answer", "").partition("\n\n")
        # The router's own refusal notice proves the statement reached the guard (and was refused there).
        answered_by_rag = body.get("route") == "rag" and "문서 검색" in notice and answer == RAG_ANSWER
        if response.status_code != 200 or not answered_by_rag:
            failures.append((statement, response.status_code, body))
        elif unchanged_state() != before:
            failures.append((statement, "changed the database", None))

    assert len(HOSTILE_SQL) >= 100
    assert failures == []


@pytest.mark.parametrize("broken", ["not json at all", json.dumps({"route": "somewhere"})])
def test_a_broken_router_reply_answers_by_rag(staff_client, knowledge_corpus, openai_server, broken):
    def reply(request):
        return RAG_ANSWER if "<context>" in request["messages"][0]["content"] else broken

    openai_server.chat_reply = reply

    body = ask(staff_client, "환불은 며칠 안에 가능해?").json()

    assert body["route"] == "rag"
    assert body["answer"] == RAG_ANSWER
