"""Rollups against a hand-computed fixture, merges across hours and days, late logs and backfill."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import ChatStatistics, ConversationHistory, MessageLog, RollupWatermark
from analytics.services import histogram, hll, statistics
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db

HOUR = timezone.make_aware(datetime(2026, 2, 9, 10, 0))  # 10:00 Asia/Seoul
DAY = HOUR.date()


def answer(*, at, session="s1", collection="handbook", question="질문", ms=None, tokens=None, scores=(), **extra):
    """One logged exchange: the user row, then the assistant row a second later."""
    performance = {}
    if ms is not None:
        performance["response_time_ms"] = ms
    if tokens is not None:
        performance["token_count"] = tokens
    common = {"channel": "knowledge", "collection_name": collection, "session_id": session}
    MessageLog.objects.create(message_type="user", content=question, created_at=at, **common)
    retrieval = {"retrieved_count": len(scores), "top_scores": list(scores)}
    MessageLog.objects.create(
        message_type="assistant", content="답", created_at=at + timedelta(seconds=1), performance=performance,
        retrieval_info=retrieval, **common, **extra,
    )  # fmt: skip


def user_of(session, user_hash, collection="handbook"):
    ConversationHistory.objects.create(
        conversation_id=session, channel="knowledge", collection_name=collection, user_hash=user_hash
    )


@pytest.fixture
def busy_hour():
    """Six exchanges in three sessions of two users; by hand:
    queries 5 (one is a regeneration), errors 1 + 1 partial, no-answers 1, tokens 210,
    response times 100..5000 ms, top scores 0.9, 0.8, 0.7, 0.3, 0.95 (one answer retrieved nothing)."""
    user_of("s0", "user-a")
    user_of("s1", "user-a")
    user_of("s2", "user-b")
    latencies = [100, 200, 300, 400, 1000, 5000]
    scores = [(0.9, 0.4), (0.8,), (0.7,), (0.3,), (), (0.95,)]
    for i, ms in enumerate(latencies):
        answer(
            at=HOUR + timedelta(minutes=5 * i), session=f"s{i % 3}", question="연차" if i % 2 else "휴가", ms=ms,
            tokens=10 * (i + 1), scores=scores[i], error={3: "timeout", 5: "client disconnected before"}.get(i, ""),
            regenerated=i == 2,
        )  # fmt: skip
    answer(at=HOUR + timedelta(hours=1), question="다음 시간")  # outside the hour
    answer(at=HOUR + timedelta(minutes=3), collection="other")
    return latencies


def hourly(collection="handbook"):
    return ChatStatistics.objects.get(period="hour", collection_name=collection, period_start=HOUR)


def test_hourly_row_counts_match_the_hand_computed_fixture(busy_hour):
    statistics.aggregate_days(DAY, DAY)

    row = hourly()
    assert (row.date.isoformat(), row.hour) == ("2026-02-09", 10)
    assert row.total_queries == 5  # the regeneration answered a question already counted
    assert row.regeneration_count == 1
    assert (row.unique_sessions, row.active_users) == (3, 2)
    assert row.total_tokens == 210
    assert (row.error_count, row.partial_count) == (1, 1)  # the disconnect is not an error
    assert row.no_answer_count == 1


def test_top_retrieval_score_of_each_answer_goes_into_the_score_histogram(busy_hour):
    statistics.aggregate_days(DAY, DAY)

    row = hourly()
    assert row.scored_count == 5
    assert row.top_score_sum == pytest.approx(0.9 + 0.8 + 0.7 + 0.3 + 0.95)
    filled = {round(i / 20, 2): n for i, n in enumerate(histogram.counts(row.top_score_histogram)) if n}
    assert filled == {0.3: 1, 0.7: 1, 0.8: 1, 0.9: 1, 0.95: 1}


def test_response_times_are_summed_exactly_and_bucketed_within_one_percent(busy_hour):
    statistics.aggregate_days(DAY, DAY)

    row = hourly()
    assert (row.response_count, row.response_time_sum_ms) == (6, sum(busy_hour))
    assert row.avg_response_time_ms == pytest.approx(sum(busy_hour) / 6)
    assert histogram.counts(row.response_time_histogram).sum() == 6
    assert row.p50_response_time_ms == pytest.approx(300, rel=0.01)  # nearest rank 3 of 6
    assert row.p99_response_time_ms == pytest.approx(5000, rel=0.01)


def test_each_hour_and_collection_gets_its_own_row(busy_hour):
    written = statistics.aggregate_days(DAY, DAY)

    assert written == 3  # handbook at 10:00 and 11:00, other at 10:00
    assert hourly("other").total_queries == 1


def test_top_queries_are_the_most_asked_first(busy_hour):
    statistics.aggregate_days(DAY, DAY)

    assert hourly().top_queries == ["연차", "휴가"]


def test_re_aggregating_an_hour_replaces_its_rows(busy_hour):
    statistics.aggregate_days(DAY, DAY)
    answer(at=HOUR + timedelta(minutes=59))

    statistics.aggregate_days(DAY, DAY)

    assert ChatStatistics.objects.filter(period="hour", period_start=HOUR).count() == 2
    assert hourly().total_queries == 6


def test_daily_row_equals_the_merge_of_its_hours(busy_hour):
    statistics.rebuild_days(HOUR.date(), HOUR.date())

    day = ChatStatistics.objects.get(period="day", collection_name="handbook")
    hours = ChatStatistics.objects.filter(period="hour", collection_name="handbook")
    assert hours.count() == 2
    merged = histogram.merge(hours.values_list("response_time_histogram", flat=True), histogram.LATENCY_BUCKETS)
    assert list(merged) == list(histogram.counts(day.response_time_histogram))
    assert day.total_queries == sum(h.total_queries for h in hours) == 6
    assert day.response_time_sum_ms == sum(h.response_time_sum_ms for h in hours)


def test_hourly_sketches_merge_into_the_distinct_sessions_and_users_of_the_day(busy_hour):
    statistics.aggregate_days(DAY, DAY)

    hours = ChatStatistics.objects.filter(period="hour", collection_name="handbook")
    day = ChatStatistics.objects.get(period="day", collection_name="handbook")
    assert hll.estimate(hll.merge(h.session_sketch for h in hours)) == day.unique_sessions == 3
    assert hll.estimate(hll.merge(h.user_sketch for h in hours)) == day.active_users == 2


def test_roll_up_fills_every_hour_missed_while_the_worker_was_down():
    for offset in (0, 1, 5):  # three hours with traffic, the worker ran none of them
        answer(at=HOUR + timedelta(hours=offset), ms=100)

    result = statistics.roll_up()

    assert (result.hours, result.days, result.logs) == (3, 1, 6)
    starts = ChatStatistics.objects.filter(period="hour").values_list("period_start", flat=True)
    assert sorted(starts) == [HOUR, HOUR + timedelta(hours=1), HOUR + timedelta(hours=5)]
    assert ChatStatistics.objects.get(period="day").total_queries == 3


def test_a_late_log_re_aggregates_its_hour_and_day():
    answer(at=HOUR, ms=100)
    statistics.roll_up()
    answer(at=HOUR + timedelta(minutes=30), ms=300)  # arrives after its hour was rolled up

    result = statistics.roll_up()

    assert (result.hours, result.logs) == (1, 2)
    assert hourly().total_queries == 2
    assert ChatStatistics.objects.get(period="day").response_time_sum_ms == 400


def test_roll_up_without_new_logs_does_nothing_and_keeps_its_watermark():
    answer(at=HOUR, ms=100)
    statistics.roll_up()
    mark = RollupWatermark.objects.get().last_log_id

    assert statistics.roll_up().hours == 0
    assert RollupWatermark.objects.get().last_log_id == mark == MessageLog.objects.latest("id").id


def test_exchanges_still_queued_in_the_log_outbox_are_rolled_up():
    exchange(flush=False)

    statistics.roll_up()

    assert ChatStatistics.objects.get(period="hour").total_queries == 1


def test_logged_exchanges_count_their_user_from_the_conversation_history():
    exchange(session_id="a", user_id=1)
    exchange(session_id="b", user_id=1)
    exchange(session_id="c", user_id=2)

    statistics.roll_up()

    row = ChatStatistics.objects.get(period="day")
    assert (row.unique_sessions, row.active_users) == (3, 2)
