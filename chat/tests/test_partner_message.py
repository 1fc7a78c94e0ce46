"""Streaming partner messages over a real ASGI server (uvicorn) with a real HTTP client."""

import asyncio
import time
import uuid
from datetime import datetime

import httpx
import pytest

from analytics.models import ConversationHistory, LogOutboxRecord, MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import PartnerChatTuningLog
from chat.services import partner_chat
from chat.tests.partner_helpers import MESSAGE, auth, key_client, partner_with_key, stream_message

REPLY = "검진 결과를 보면 콜레스테롤이 약간 높지만 위험한 수치는 아니에요 식단을 조절해 보세요"


HEALTH_DATA = "공복혈당 131 mg/dL로 높습니다. LDL 콜레스테롤 165 mg/dL로 경계 수준입니다."


@pytest.fixture
def session_key(transactional_db):
    """medilinx's key, with session sess-1 warmed up with health data (what grounds its answers)."""
    _, key = partner_with_key("medilinx", "Medilinx")
    partner_chat.warm_up(
        partner_id="medilinx", session_id="sess-1", user_uuid="user-abc", initial_data={"health_data": HEALTH_DATA}
    )
    return key


def session_row():
    return PartnerChatTuningLog.objects.get(partner_id="medilinx", session_id="sess-1")


def test_tokens_arrive_incrementally_before_the_answer_is_done(live_asgi_server, openai_server, session_key):
    openai_server.chat_reply = REPLY
    openai_server.stream_delay = 0.05

    events = stream_message(live_asgi_server, session_key)

    names = [name for name, _, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"}
    assert len(names) - 1 == len(REPLY.split())
    first_token_at, done_at = events[0][2], events[-1][2]
    assert done_at - first_token_at >= 0.05 * (len(REPLY.split()) - 2)
    assert "".join(data["text"] for name, data, _ in events if name == "token") == REPLY


def test_the_done_event_carries_the_answer_and_the_new_message_count(live_asgi_server, openai_server, session_key):
    openai_server.chat_reply = REPLY

    *_, (name, done, _) = stream_message(live_asgi_server, session_key)

    assert name == "done"
    assert done["answer"] == REPLY
    assert done["message_count"] == 1
    assert done["session_id"] == "sess-1"


def test_a_completed_answer_is_appended_to_the_tuning_conversation(live_asgi_server, openai_server, session_key):
    openai_server.chat_reply = REPLY

    stream_message(live_asgi_server, session_key, message="내 상태 어떠니?")

    session = session_row()
    assert session.message_count == 1
    user, assistant = session.conversation
    assert (user["role"], user["content"]) == ("user", "내 상태 어떠니?")
    assert (assistant["role"], assistant["content"]) == ("assistant", REPLY)
    for entry in (user, assistant):
        assert datetime.fromisoformat(entry["ts"]).utcoffset().total_seconds() == 9 * 3600
    assert session.updated_at > session.created_at


def test_the_exchange_is_logged_for_analytics_as_the_partner_channel(live_asgi_server, openai_server, session_key):
    openai_server.chat_reply = REPLY

    stream_message(live_asgi_server, session_key, temperature=0.3)
    flush_log_outbox()

    assistant = MessageLog.objects.get(message_type="assistant")
    assert (assistant.channel, assistant.collection_name, assistant.session_id) == ("partner", "medilinx", "sess-1")
    assert assistant.content == REPLY
    assert assistant.llm_model == "stub-llm"
    assert assistant.llm_params == {"temperature": 0.3}
    assert assistant.performance["response_time_ms"] >= 0
    assert ConversationHistory.objects.get().user_hash  # user_uuid, hashed


def test_the_partners_health_context_reaches_the_llm(live_asgi_server, openai_server, transactional_db):
    _, key = partner_with_key("medilinx")
    session_id = f"health-{uuid.uuid4()}"  # the health text lives in the cache, which outlives each test
    partner_chat.warm_up(partner_id="medilinx", session_id=session_id, initial_data={"health_data": "공복혈당 131"})

    stream_message(live_asgi_server, key, session_id=session_id)

    [request] = openai_server.requests_to("/chat/completions")
    assert "공복혈당 131" in request.json["messages"][0]["content"]
    assert request.json["stream"] is True


def test_earlier_turns_are_sent_as_history(live_asgi_server, openai_server, session_key):
    stream_message(live_asgi_server, session_key, message="첫 질문")

    stream_message(live_asgi_server, session_key, message="두 번째 질문")

    second = openai_server.requests_to("/chat/completions")[1].json["messages"]
    assert [m["content"] for m in second[1:]] == ["첫 질문", openai_server.chat_reply, "두 번째 질문"]


def test_the_local_responder_streams_when_no_llm_is_configured(live_asgi_server, session_key, settings):
    settings.LLM_BASE_URL = ""

    events = stream_message(live_asgi_server, session_key)

    assert events[-1][0] == "done"
    assert events[-1][1]["model"] == "local-extractive"
    assert session_row().message_count == 1


def test_an_llm_failure_ends_with_an_error_event_and_is_logged(live_asgi_server, openai_server, session_key):
    openai_server.fail_next(5, status=500)

    events = stream_message(live_asgi_server, session_key)

    assert [name for name, _, _ in events] == ["error"]
    assert events[0][1]["code"] == "llm_error"
    assert session_row().message_count == 0
    flush_log_outbox()
    assert MessageLog.objects.get(message_type="assistant").error


def test_a_client_disconnect_stops_the_stream_and_logs_the_partial_answer(
    live_asgi_server, openai_server, session_key
):
    openai_server.chat_reply = " ".join(f"단어{i}" for i in range(200))
    openai_server.stream_delay = 0.05

    with httpx.stream("POST", live_asgi_server.url + MESSAGE, json={"session_id": "sess-1", "message": "질문"},
                      headers=auth(session_key), timeout=20) as response:  # fmt: skip
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))
    # the client is gone: the server must notice, stop generating and log what was said

    deadline = time.monotonic() + 5
    while not LogOutboxRecord.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    flush_log_outbox()
    assistant = MessageLog.objects.get(message_type="assistant")
    assert assistant.error == partner_chat.ABANDONED
    assert assistant.content and openai_server.chat_reply.startswith(assistant.content)
    assert len(assistant.content) < len(openai_server.chat_reply)
    assert session_row().message_count == 0


def test_fifty_concurrent_messages_to_one_session_lose_nothing(live_asgi_server, session_key, settings):
    settings.LLM_BASE_URL = ""  # the local responder: no stub server in the way
    messages = [f"질문 번호 {i}" for i in range(50)]

    async def send_all():
        async with httpx.AsyncClient(base_url=live_asgi_server.url, headers=auth(session_key), timeout=60) as client:

            async def send(message):
                async with client.stream("POST", MESSAGE, json={"session_id": "sess-1", "message": message}) as r:
                    assert r.status_code == 200
                    return [line async for line in r.aiter_lines() if line.startswith("event: ")][-1]

            return await asyncio.gather(*(send(m) for m in messages))

    last_events = asyncio.run(send_all())

    assert last_events == ["event: done"] * 50
    session = session_row()
    assert session.message_count == 50
    assert len(session.conversation) == 100
    assert sorted(e["content"] for e in session.conversation if e["role"] == "user") == sorted(messages)
    assert [e["role"] for e in session.conversation] == ["user", "assistant"] * 50


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"session_id": "sess-1"}, 400),
        ({"session_id": "sess-1", "message": ""}, 400),
        ({"session_id": "sess-1", "message": "x" * 4001}, 400),
        ({"session_id": "sess-1", "message": "hi", "temperature": 5}, 400),
        ({"session_id": "sess-1", "message": "hi", "reasoning_level": "max"}, 400),
        ({"session_id": "never-warmed-up", "message": "hi"}, 404),
    ],
)
def test_bad_messages_are_refused_before_the_stream_starts(body, status):
    _, key = partner_with_key("medilinx")
    partner_chat.warm_up(partner_id="medilinx", session_id="sess-1")

    response = key_client(key).post(MESSAGE, body, format="json")

    assert response.status_code == status
    assert "error" in response.json()


@pytest.mark.django_db
def test_another_partners_session_is_not_found():
    _, key = partner_with_key("medilinx")
    partner_with_key("kindhabit")
    partner_chat.warm_up(partner_id="kindhabit", session_id="theirs")

    response = key_client(key).post(MESSAGE, {"session_id": "theirs", "message": "hi"}, format="json")

    assert response.status_code == 404


@pytest.mark.django_db
def test_messages_need_a_partner_key(alice_client, api_client):
    assert alice_client.post(MESSAGE, {"session_id": "s", "message": "hi"}, format="json").status_code == 403
    assert api_client.post(MESSAGE, {"session_id": "s", "message": "hi"}, format="json").status_code == 401


@pytest.fixture
def prepared_turn(db):
    partner_with_key("medilinx")
    partner_chat.warm_up(partner_id="medilinx", session_id="sess-1")
    return partner_chat.prepare_turn(partner_id="medilinx", session_id="sess-1", message="내 상태 어떠니?")


def test_a_finished_turn_is_appended_and_queued_for_the_logs_in_one_statement(
    prepared_turn, django_assert_num_queries
):
    with django_assert_num_queries(1):
        count = partner_chat.finish_turn(prepared_turn, answer=REPLY, model="m", usage={}, response_ms=5)

    assert count == 1
    assert LogOutboxRecord.objects.get().record["assistant_message"] == REPLY


def test_a_turn_whose_tuning_append_fails_is_still_logged(prepared_turn):
    from django.db import connection

    with connection.cursor() as cursor:  # the database refuses the append (rolled back with the test)
        cursor.execute("CREATE FUNCTION refuse_append() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'append refused'; END $$")  # fmt: skip
        cursor.execute(f"CREATE TRIGGER refuse_append BEFORE UPDATE ON {PartnerChatTuningLog._meta.db_table} "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_append()")  # fmt: skip

    count = partner_chat.finish_turn(prepared_turn, answer=REPLY, model="m", usage={}, response_ms=5)

    assert count is None
    assert session_row().message_count == 0
    flush_log_outbox()
    assert MessageLog.objects.get(message_type="assistant").content == REPLY
