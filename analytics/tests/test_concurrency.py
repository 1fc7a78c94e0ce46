"""Concurrent turns of one conversation: every message lands (atomic jsonb append, no read-modify-write)."""

import threading

import pytest
from django.db import connection

from analytics.models import ConversationHistory, MessageLog
from analytics.tests.factories import exchange

THREADS = 8
TURNS_PER_THREAD = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_conversation_lose_nothing():
    barrier = threading.Barrier(THREADS)
    errors = []

    def worker(n):
        try:
            barrier.wait()
            for turn in range(TURNS_PER_THREAD):
                exchange(session_id="shared", user_message=f"q-{n}-{turn}", assistant_message=f"a-{n}-{turn}")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    history = ConversationHistory.objects.get(conversation_id="shared")
    expected = {f"q-{n}-{t}" for n in range(THREADS) for t in range(TURNS_PER_THREAD)}
    assert history.total_turns == THREADS * TURNS_PER_THREAD
    assert {m["content"] for m in history.messages if m["role"] == "user"} == expected
    assert len(history.messages) == 2 * THREADS * TURNS_PER_THREAD
    assert MessageLog.objects.filter(session_id="shared").count() == 2 * THREADS * TURNS_PER_THREAD
