"""The transactional log outbox: a chat turn queues its log in its own transaction; the flush writes it."""

import threading
import uuid

import pytest
from django.db import connection, transaction

from analytics.models import ConversationHistory, LogOutboxRecord, MessageLog
from analytics.services.message_logs import FLUSH_LOCK_KEY, MAX_WRITE_ATTEMPTS, flush_log_outbox
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


def test_an_exchange_is_queued_in_the_outbox_until_the_flush_writes_it():
    exchange(session_id="queued", flush=False)

    assert LogOutboxRecord.objects.count() == 1
    assert not MessageLog.objects.exists()

    result = flush_log_outbox()

    assert (result.written, result.failed) == (1, 0)
    assert MessageLog.objects.filter(session_id="queued").count() == 2
    assert ConversationHistory.objects.get(conversation_id="queued").total_turns == 1
    assert not LogOutboxRecord.objects.exists()


def test_a_queued_log_is_part_of_the_chats_transaction():
    with transaction.atomic():
        exchange(session_id="kept", flush=False)
    with pytest.raises(RuntimeError), transaction.atomic():
        exchange(session_id="rolled-back", flush=False)
        raise RuntimeError("the chat failed after logging")

    flush_log_outbox()

    assert set(MessageLog.objects.values_list("session_id", flat=True)) == {"kept"}


def test_queueing_an_exchange_costs_the_chat_one_statement(django_assert_num_queries):
    with transaction.atomic(), django_assert_num_queries(1):
        exchange(flush=False)


def test_the_flush_writes_a_conversations_turns_in_the_order_they_were_queued():
    for turn in range(7):
        exchange(session_id="ordered", user_message=f"질문 {turn}", flush=False)

    flush_log_outbox(batch_size=3)

    history = ConversationHistory.objects.get(conversation_id="ordered")
    assert [m["content"] for m in history.messages if m["role"] == "user"] == [f"질문 {t}" for t in range(7)]
    assert history.total_turns == 7


def test_one_flush_writes_several_conversations_each_in_order_with_its_own_history():
    for turn in range(3):
        for session in ("a", "b"):
            exchange(session_id=session, user_message=f"{session}{turn}", user_id=session, flush=False)

    result = flush_log_outbox()

    assert result.written == 6
    for session in ("a", "b"):
        history = ConversationHistory.objects.get(conversation_id=session)
        assert [m["content"] for m in history.messages if m["role"] == "user"] == [f"{session}{t}" for t in range(3)]
        assert (history.total_turns, history.summary) == (3, f"{session}0")
        assert MessageLog.objects.filter(session_id=session).count() == 6
    assert ConversationHistory.objects.get(conversation_id="a").user_hash != (
        ConversationHistory.objects.get(conversation_id="b").user_hash
    )


def test_the_queued_record_holds_the_user_hash_never_the_user_id():
    exchange(user_id=123456789, flush=False)

    record = LogOutboxRecord.objects.get().record
    assert "123456789" not in str(record)
    assert len(record["user_hash"]) == 64


def test_a_record_the_database_rejects_stays_queued_with_its_error_and_the_rest_is_written():
    exchange(session_id="x" * 300, flush=False)  # longer than the column: no write can take it
    exchange(session_id="fine", flush=False)

    result = flush_log_outbox()

    assert (result.written, result.failed) == (1, 1)
    assert MessageLog.objects.filter(session_id="fine").count() == 2
    stuck = LogOutboxRecord.objects.get()
    assert stuck.record["session_id"] == "x" * 300
    assert stuck.attempts == 1
    assert "too long" in stuck.last_error


def test_a_record_is_not_tried_again_after_the_attempt_limit():
    exchange(session_id="x" * 300, flush=False)
    for _ in range(MAX_WRITE_ATTEMPTS):
        flush_log_outbox()

    result = flush_log_outbox()

    assert (result.written, result.failed) == (0, 0)
    assert LogOutboxRecord.objects.get().attempts == MAX_WRITE_ATTEMPTS  # kept for staff, never dropped


def test_a_queued_record_is_written_once_however_often_the_flush_runs():
    exchange(session_id="once", flush=False)

    results = [flush_log_outbox() for _ in range(3)]

    assert [r.written for r in results] == [1, 0, 0]
    assert MessageLog.objects.filter(session_id="once").count() == 2


def test_a_record_that_brings_its_log_ids_is_not_stored_twice():
    exchange(session_id="twice", flush=False)
    record = LogOutboxRecord.objects.get().record
    record.update(user_log_id=str(uuid.uuid4()), assistant_log_id=str(uuid.uuid4()))  # as outbox-file records do
    LogOutboxRecord.objects.update(record=record)
    flush_log_outbox()
    LogOutboxRecord.objects.create(record=record)  # the same record queued again

    result = flush_log_outbox()

    assert (result.written, result.already_stored) == (0, 1)
    assert MessageLog.objects.filter(session_id="twice").count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_flush_while_another_runs_reports_busy_and_leaves_the_records_to_it():
    exchange(session_id="waiting", flush=False)
    with connection.cursor() as cursor:  # what a running flush holds
        cursor.execute("SELECT pg_advisory_lock(%s)", [FLUSH_LOCK_KEY])
    try:
        result = _flush_on_another_connection()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [FLUSH_LOCK_KEY])

    assert result.busy
    assert LogOutboxRecord.objects.count() == 1
    assert flush_log_outbox().written == 1


def _flush_on_another_connection():
    results = []

    def run():
        try:
            results.append(flush_log_outbox())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return results[0]
