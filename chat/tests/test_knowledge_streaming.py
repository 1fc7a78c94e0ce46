"""POST /api/v1/rag/chat/stream (and regenerate?stream=1) over real HTTP against a live ASGI server."""

import asyncio
import json
import threading
import time
import warnings
from contextlib import AsyncExitStack

import httpx
import pytest

from analytics.models import MessageLog
from analytics.services.message_logs import flush_log_outbox
from chat.models import KnowledgeConversation, KnowledgeMessage
from chat.tests.conftest import KNOWLEDGE_KEY

STREAM = "/api/v1/rag/chat/stream"
WORDS = [f"단어{number}" for number in range(1, 31)]


@pytest.fixture
def alice_headers(alice_client):
    return {"Authorization": f"Token {alice_client.token}", "Accept": "text/event-stream"}


def read_events(response, *, stop_after_first_token=False):
    """(name, data, arrival time) for each SSE event of a streaming httpx response."""
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name:
            events.append((name, json.loads(line.removeprefix("data: ")), time.monotonic()))
            name = None
            if stop_after_first_token and events[-1][0] == "token":
                break
    return events


def stream(server, headers, payload, path=STREAM, **read):
    with (
        httpx.Client(base_url=server.url, timeout=10) as client,
        client.stream("POST", path, json=payload, headers=headers) as response,
    ):
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return read_events(response, **read)


def stream_in_process(client, payload, path=STREAM):
    """The same events through Django's test client (no socket; the async stream is consumed whole)."""
    response = client.post(path, payload, format="json", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200
    with warnings.catch_warnings():  # "must consume asynchronous iterators ... synchronously": intended here
        warnings.simplefilter("ignore")
        body = b"".join(response).decode()
    return [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in body.strip().split("\n\n")
    ]


def question(**extra):
    return {"message": "환불은 며칠 안에 신청할 수 있나요?", "rag_key": KNOWLEDGE_KEY, **extra}


def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_tokens_arrive_incrementally_before_the_stream_ends(
    live_asgi_server, alice_headers, knowledge_corpus, openai_server
):
    openai_server.chat_reply = " ".join(WORDS[:8])
    openai_server.stream_delay = 0.1

    events = stream(live_asgi_server, alice_headers, question())

    names = [name for name, _, _ in events]
    assert names == ["token"] * 8 + ["done"]
    first_token_at, done_at = events[0][2], events[-1][2]
    assert done_at - first_token_at > 0.5  # the first token came while the other seven were still being made
    assert "".join(data["text"] for name, data, _ in events if name == "token") == " ".join(WORDS[:8])


def test_done_event_describes_the_stored_answer(alice_client, knowledge_corpus, openai_server):
    openai_server.chat_reply = "7일 이내에 신청하세요."

    events = stream_in_process(alice_client, question())

    name, done = events[-1]
    assert name == "done"
    message = KnowledgeMessage.objects.get(pk=done["message_id"])
    assert str(message.conversation_id) == done["conversation_id"]
    assert (message.content, message.status, message.route) == ("7일 이내에 신청하세요.", "complete", "rag")
    assert done["sources"] == message.sources
    assert done["sources"][0]["filename"] == "refund.txt"
    assert done["usage"]["completion_tokens"] > 0
    flush_log_outbox()
    assert MessageLog.objects.filter(session_id=done["conversation_id"], message_type="assistant").count() == 1


def test_client_disconnect_stops_generation_and_stores_the_partial_answer(
    live_asgi_server, alice_headers, knowledge_corpus, openai_server
):
    openai_server.chat_reply = " ".join(WORDS)
    openai_server.stream_delay = 0.1  # three seconds for the whole answer

    events = stream(live_asgi_server, alice_headers, question(), stop_after_first_token=True)

    assert [name for name, _, _ in events] == ["token"]
    message = wait_for(lambda: KnowledgeMessage.objects.filter(role="assistant").first())
    assert message.status == "partial"
    assert message.content.startswith(WORDS[0])
    assert len(message.content.split()) < len(WORDS)
    flush_log_outbox()
    log = MessageLog.objects.get(session_id=message.conversation_id, message_type="assistant")
    assert (log.content, log.llm_params["status"]) == (message.content, "partial")
    assert "partial" in log.error


def test_invalid_input_is_refused_with_json_before_streaming(alice_client):
    response = alice_client.post(STREAM, question(temperature=5), format="json", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 400
    assert response["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "invalid"
    assert not KnowledgeConversation.objects.exists()


def test_streaming_needs_credentials(db, api_client):
    response = api_client.post(STREAM, question(), format="json", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_streaming_is_throttled_like_the_rest_of_the_api(alice_client, settings):
    settings.API_RATE_LIMIT = "1/hour"  # an hourly window: no test straddles its edge
    alice_client.post(STREAM, {"message": ""}, format="json", HTTP_ACCEPT="text/event-stream")

    response = alice_client.post(STREAM, question(), format="json", HTTP_ACCEPT="text/event-stream")

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_a_provider_failure_ends_the_stream_with_an_error_event(alice_client, knowledge_corpus, openai_server):
    openai_server.fail_next(20, status=503)

    name, data = stream_in_process(alice_client, question())[-1]

    assert name == "error"
    assert data["code"] == "generation_failed"
    assert KnowledgeMessage.objects.get(pk=data["message_id"]).status == "error"


def test_the_error_event_is_korean_by_default(alice_client, knowledge_corpus, openai_server):
    openai_server.fail_next(20, status=503)

    name, data = stream_in_process(alice_client, question())[-1]

    assert (name, data["message"]) == ("error", "답변을 만들지 못했습니다. 다시 시도해 주세요.")


def test_the_error_event_is_english_when_asked(live_asgi_server, alice_headers, knowledge_corpus, openai_server):
    openai_server.fail_next(20, status=503)

    name, data, _ = stream(live_asgi_server, {**alice_headers, "Accept-Language": "en"}, question())[-1]

    assert (name, data["message"]) == ("error", "The answer could not be generated; please try again.")


def test_streamed_regeneration_replaces_the_answer(live_asgi_server, alice_headers, knowledge_corpus, openai_server):
    openai_server.chat_reply = "처음 답변"
    first = stream(live_asgi_server, alice_headers, question())[-1][1]
    openai_server.chat_reply = "새 답변"

    events = stream(
        live_asgi_server,
        alice_headers,
        {"conversation_id": first["conversation_id"]},
        path="/api/v1/rag/chat/regenerate?stream=1",
    )

    done = events[-1][1]
    answers = KnowledgeMessage.objects.filter(conversation_id=first["conversation_id"], role="assistant")
    assert [(a.pk, a.content) for a in answers] == [(done["message_id"], "새 답변")]
    assert KnowledgeConversation.objects.get(pk=first["conversation_id"]).regeneration_count == 1


def test_the_local_responder_streams_a_grounded_answer(alice_client, knowledge_corpus):
    events = stream_in_process(alice_client, question())

    tokens = [data["text"] for name, data in events if name == "token"]
    assert len(tokens) > 1
    assert "7일" in "".join(tokens)
    assert events[-1][1]["sources"][0]["filename"] == "refund.txt"


def test_open_streams_do_not_hold_up_other_requests(live_asgi_server, alice_headers, knowledge_corpus, openai_server):
    openai_server.chat_reply = " ".join(WORDS)
    openai_server.stream_delay = 0.3  # each answer takes nine seconds
    open_streams = 12  # more than the default thread pool of this machine (cpu count + 4)
    token = alice_headers["Authorization"]

    async def scenario():
        async with httpx.AsyncClient(base_url=live_asgi_server.url, timeout=10) as client, AsyncExitStack() as streams:
            threads = []
            for _ in range(open_streams):
                response = await streams.enter_async_context(
                    client.stream("POST", STREAM, json=question(), headers=alice_headers)
                )
                lines = response.aiter_lines()
                while await anext(lines) != "event: token":
                    pass
                threads.append(threading.active_count())
            started = time.monotonic()
            listed = await client.get("/api/v1/rag/conversations", headers={"Authorization": token})
            return listed, time.monotonic() - started, threads

    listed, seconds, threads = asyncio.run(scenario())

    assert threads[-1] - threads[0] <= 1  # an idle stream holds no thread of its own (this process serves them)
    assert listed.status_code == 200
    assert listed.json()["count"] == open_streams
    assert seconds < 2  # answered while every stream was still open and waiting for tokens
    partial = KnowledgeMessage.objects.filter(role="assistant", status="partial")
    assert wait_for(lambda: partial.count() == open_streams)  # then every client left and was handled
