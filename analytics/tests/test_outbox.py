"""A log write the database refuses must neither break the chat nor get lost."""

import json
import threading

import pytest
from django.db import DatabaseError, connection, transaction

from analytics.models import ConversationHistory, MessageLog
from analytics.services import outbox
from analytics.services.message_logs import flush_log_outbox
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


def break_the_current_transaction():
    """What a chat's earlier failed query leaves behind: an atomic block that must roll back."""
    try:
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    except DatabaseError:
        pass
    assert connection.needs_rollback


def outbox_lines(outbox_dir):
    path = outbox_dir / outbox.OUTBOX_NAME
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_refused_write_goes_to_the_outbox_instead_of_raising(outbox_in_tmp):
    with transaction.atomic():
        break_the_current_transaction()
        exchange(session_id="broken", flush=False)  # must not raise

    assert MessageLog.objects.count() == 0
    [entry] = outbox_lines(outbox_in_tmp)
    assert entry["record"]["session_id"] == "broken"
    assert entry["record"]["user_message"] == "연차는 며칠인가요?"
    assert entry["reason"]


def test_the_outbox_stores_the_user_hash_never_the_user_id(outbox_in_tmp):
    with transaction.atomic():
        break_the_current_transaction()
        exchange(user_id=123456789, flush=False)

    raw = (outbox_in_tmp / outbox.OUTBOX_NAME).read_text()
    assert "123456789" not in raw
    assert len(outbox_lines(outbox_in_tmp)[0]["record"]["user_hash"]) == 64


def test_flush_replays_outbox_records_into_the_database(outbox_in_tmp):
    with transaction.atomic():
        break_the_current_transaction()
        exchange(session_id="broken", flush=False)

    result = flush_log_outbox()

    assert (result.file.replayed, result.file.dead, result.file.kept) == (1, 0, 0)
    assert MessageLog.objects.filter(session_id="broken").count() == 2
    assert ConversationHistory.objects.get(conversation_id="broken").total_turns == 1
    assert outbox.pending_count() == 0


def test_replaying_the_same_record_twice_stores_it_once(outbox_in_tmp):
    with transaction.atomic():
        break_the_current_transaction()
        exchange(session_id="broken", flush=False)
    [entry] = outbox_lines(outbox_in_tmp)
    flush_log_outbox()

    outbox.append(entry["record"])  # e.g. a flush that crashed after committing
    result = flush_log_outbox()

    assert result.file.duplicates == 1
    assert MessageLog.objects.count() == 2
    assert ConversationHistory.objects.get().total_turns == 1


def test_a_replayed_record_the_database_rejects_for_good_is_dead_lettered_not_dropped(outbox_in_tmp):
    with transaction.atomic():
        break_the_current_transaction()
        exchange(session_id="x" * 300, flush=False)  # longer than the column: no write can take it

    result = flush_log_outbox()

    assert (result.file.replayed, result.file.dead) == (0, 1)
    dead = [json.loads(line) for line in (outbox_in_tmp / outbox.DEAD_NAME).read_text().splitlines()]
    assert dead[0]["record"]["session_id"] == "x" * 300
    assert outbox.pending_count() == 0


def test_concurrent_outbox_writers_lose_no_line(outbox_in_tmp):
    def write(worker):
        for i in range(50):
            outbox.append({"worker": worker, "i": i})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = {(e["record"]["worker"], e["record"]["i"]) for e in outbox_lines(outbox_in_tmp)}
    assert len(records) == 200


def test_flush_log_outbox_command_reports_what_it_did(outbox_in_tmp):
    from io import StringIO

    from django.core.management import call_command

    with transaction.atomic():
        break_the_current_transaction()
        exchange(flush=False)
    out = StringIO()

    call_command("flush_log_outbox", stdout=out)

    assert "replayed=1" in out.getvalue()


def test_a_flush_that_crashed_midway_is_picked_up_by_the_next_one(outbox_in_tmp):
    with transaction.atomic():
        break_the_current_transaction()
        exchange(session_id="crashed", flush=False)
    (outbox_in_tmp / outbox.OUTBOX_NAME).rename(outbox_in_tmp / "processing-20260101T000000000000-1.jsonl")

    result = flush_log_outbox()

    assert result.file.replayed == 1
    assert list(outbox_in_tmp.glob("processing-*")) == []
    assert MessageLog.objects.filter(session_id="crashed").count() == 2
