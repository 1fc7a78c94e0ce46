"""Turn numbers of a dining session: one row per (session, turn), also when turns arrive at once."""

import threading
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from chat.models import Conversation, PerformanceLog
from chat.services.dining_chat import handle_turn
from chat.services.turn_log import write_turn_log
from chat.tests.dining_factories import make_chat_user

CONCURRENT_TURNS = 8


def run_at_once(count: int, work) -> list:
    """Call work(i) in `count` threads released together; returns their results (exceptions re-raised)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            results[index] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def log_turn(user, session_id, claimed_turn: int) -> Conversation:
    conversation = Conversation(user=user, session_id=session_id, input_text="안녕", conversation_turn=claimed_turn)
    performance = PerformanceLog(operation_type="dining_chat_turn", total_time_ms=1)
    write_turn_log(conversation, None, performance, shop_ids=[], menu_ids=[])
    return conversation


@pytest.mark.django_db
def test_the_database_refuses_a_second_row_for_the_same_turn():
    user, session_id = make_chat_user(), uuid.uuid4()
    Conversation.objects.create(user=user, session_id=session_id, conversation_turn=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(user=user, session_id=session_id, conversation_turn=1)


@pytest.mark.django_db
def test_a_logged_turn_is_numbered_after_the_last_stored_one_whatever_it_claimed():
    user, session_id = make_chat_user(), uuid.uuid4()
    log_turn(user, session_id, 1)

    stale = log_turn(user, session_id, 1)  # e.g. a session context that missed a turn

    assert stale.conversation_turn == 2
    stored = Conversation.objects.filter(session_id=session_id).values_list("conversation_turn", flat=True)
    assert sorted(stored) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_concurrent_turn_logs_of_one_session_get_distinct_consecutive_numbers():
    user, session_id = make_chat_user(), uuid.uuid4()

    logged = run_at_once(CONCURRENT_TURNS, lambda _: log_turn(user, session_id, 1))

    assert sorted(c.conversation_turn for c in logged) == list(range(1, CONCURRENT_TURNS + 1))
    stored = Conversation.objects.filter(session_id=session_id).values_list("conversation_turn", flat=True)
    assert sorted(stored) == list(range(1, CONCURRENT_TURNS + 1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_chat_turns_of_one_session_answer_with_distinct_turn_numbers():
    user = make_chat_user()
    first = handle_turn(chat_user=user, message="안녕", session_id=None, location=None, context=None)
    session_id = first["session_info"]["session_id"]

    bodies = run_at_once(
        CONCURRENT_TURNS,
        lambda _: handle_turn(chat_user=user, message="안녕", session_id=session_id, location=None, context=None),
    )

    turns = sorted(body["session_info"]["conversation_turn"] for body in bodies)
    assert turns == list(range(2, CONCURRENT_TURNS + 2))
    assert Conversation.objects.filter(session_id=session_id).count() == CONCURRENT_TURNS + 1
