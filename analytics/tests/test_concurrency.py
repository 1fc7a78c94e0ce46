"""Concurrent turns of one conversation, and flushes racing them: every message lands exactly once, and
each writer's turns keep their order in the history."""

import threading

import pytest
from django.db import connection

from analytics.models import ConversationHistory, LogOutboxRecord, MessageLog
from analytics.services.message_logs import flush_log_outbox
from analytics.tests.factories import exchange

THREADS = 8
TURNS_PER_THREAD = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_turns_and_flushes_of_one_conversation_lose_nothing():
    barrier = threading.Barrier(THREADS + 2)
    errors = []
    chatting = threading.Event()
    chatting.set()

    def chat(n):
        try:
            barrier.wait()
            for turn in range(TURNS_PER_THREAD):
                exchange(
                    session_id="shared", user_message=f"q-{n}-{turn}", assistant_message=f"a-{n}-{turn}", flush=False
                )
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    def flush_while_chatting():
        try:
            barrier.wait()
            while chatting.is_set():
                flush_log_outbox(batch_size=5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    chatters = [threading.Thread(target=chat, args=(n,)) for n in range(THREADS)]
    flushers = [threading.Thread(target=flush_while_chatting) for _ in range(2)]
    for thread in chatters + flushers:
        thread.start()
    for thread in chatters:
        thread.join()
    chatting.clear()
    for thread in flushers:
        thread.join()
    flush_log_outbox()  # what the next scheduled flush would do

    assert errors == []
    assert not LogOutboxRecord.objects.exists()
    history = ConversationHistory.objects.get(conversation_id="shared")
    expected = {f"q-{n}-{t}" for n in range(THREADS) for t in range(TURNS_PER_THREAD)}
    assert history.total_turns == THREADS * TURNS_PER_THREAD
    assert {m["content"] for m in history.messages if m["role"] == "user"} == expected
    assert len(history.messages) == 2 * THREADS * TURNS_PER_THREAD
    assert MessageLog.objects.filter(session_id="shared").count() == 2 * THREADS * TURNS_PER_THREAD
    for n in range(THREADS):
        own_turns = [m["content"] for m in history.messages if m["content"].startswith(f"q-{n}-")]
        assert own_turns == [f"q-{n}-{t}" for t in range(TURNS_PER_THREAD)]
