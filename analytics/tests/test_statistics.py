from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from analytics.models import ChatStatistics, MessageLog
from analytics.services import statistics
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db

HOUR = timezone.make_aware(datetime(2026, 2, 9, 10, 0))  # 10:00 Asia/Seoul


def log(message_type, *, at, collection="handbook", session="s1", content="질문", ms=None, tokens=None, **extra):
    performance = {}
    if ms is not None:
        performance["response_time_ms"] = ms
    if tokens is not None:
        performance["token_count"] = tokens
    return MessageLog.objects.create(
        channel="knowledge",
        collection_name=collection,
        session_id=session,
        message_type=message_type,
        content=content,
        performance=performance,
        created_at=at,
        **extra,
    )


def percentile(values, q):
    """percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@pytest.fixture
def busy_hour():
    latencies = [100, 200, 300, 400, 1000, 5000]
    for i, ms in enumerate(latencies):
        at = HOUR + timedelta(minutes=5 * i)
        log("user", at=at, session=f"s{i % 3}", content="연차" if i % 2 else "휴가")
        log("assistant", at=at + timedelta(seconds=1), session=f"s{i % 3}", ms=ms, tokens=10 * (i + 1),
            error="timeout" if i == 5 else "", regenerated=i == 4)  # fmt: skip
    log("user", at=HOUR + timedelta(hours=1), content="다음 시간")  # outside the hour
    log("user", at=HOUR + timedelta(minutes=3), collection="other")
    return latencies


def test_hourly_row_counts_queries_sessions_tokens_errors_and_regenerations(busy_hour):
    statistics.aggregate_hour(HOUR)

    row = ChatStatistics.objects.get(period="hour", collection_name="handbook")
    assert (row.date.isoformat(), row.hour) == ("2026-02-09", 10)
    assert row.total_queries == 6
    assert row.unique_sessions == 3
    assert row.total_tokens == sum(10 * (i + 1) for i in range(6))
    assert row.error_count == 1
    assert row.regeneration_count == 1
    assert row.error_rate == pytest.approx(1 / 6)


def test_hourly_latency_is_mean_and_percentiles_of_assistant_response_times(busy_hour):
    statistics.aggregate_hour(HOUR)

    row = ChatStatistics.objects.get(period="hour", collection_name="handbook")
    assert row.avg_response_time_ms == pytest.approx(sum(busy_hour) / len(busy_hour))
    assert row.p50_response_time_ms == pytest.approx(percentile(busy_hour, 0.5))
    assert row.p95_response_time_ms == pytest.approx(percentile(busy_hour, 0.95))
    assert row.p99_response_time_ms == pytest.approx(percentile(busy_hour, 0.99))


def test_each_collection_gets_its_own_row(busy_hour):
    written = statistics.aggregate_hour(HOUR)

    assert written == 2
    assert ChatStatistics.objects.get(collection_name="other").total_queries == 1


def test_top_queries_are_the_most_asked_first(busy_hour):
    log("user", at=HOUR + timedelta(minutes=50), content="연차")

    statistics.aggregate_hour(HOUR)

    assert ChatStatistics.objects.get(collection_name="handbook").top_queries == ["연차", "휴가"]


def test_re_aggregating_an_hour_updates_its_row_instead_of_duplicating(busy_hour):
    statistics.aggregate_hour(HOUR)
    log("user", at=HOUR + timedelta(minutes=59))

    statistics.aggregate_hour(HOUR)

    row = ChatStatistics.objects.get(period="hour", collection_name="handbook")
    assert row.total_queries == 7


def test_daily_row_covers_the_local_day(busy_hour):
    log("user", at=HOUR.replace(hour=23, minute=59))
    log("user", at=HOUR + timedelta(days=1))

    statistics.aggregate_day(HOUR.date())

    row = ChatStatistics.objects.get(period="day", collection_name="handbook")
    assert (row.hour, row.total_queries) == (None, 8)


def test_latency_is_empty_when_no_answer_reported_one():
    log("user", at=HOUR)
    log("assistant", at=HOUR)

    statistics.aggregate_hour(HOUR)

    row = ChatStatistics.objects.get()
    assert row.avg_response_time_ms is None and row.p95_response_time_ms is None


def test_previous_hour_means_the_last_complete_local_hour(busy_hour):
    statistics.aggregate_previous_hour(now=HOUR + timedelta(hours=1, minutes=5))

    assert ChatStatistics.objects.filter(period="hour", hour=10).count() == 2


def test_a_whole_day_writes_one_row_per_active_hour_and_collection_plus_the_daily_rows(busy_hour):
    hourly, daily = statistics.aggregate_day_and_hours(HOUR.date())

    # handbook at 10:00 and 11:00, other at 10:00; one daily row per collection
    assert (hourly, daily) == (3, 2)
    assert ChatStatistics.objects.filter(period="hour").count() == 3
    assert ChatStatistics.objects.get(period="day", collection_name="handbook").total_queries == 7


def test_exchanges_still_queued_in_the_log_outbox_are_counted():
    exchange(collection_name="queued", flush=False)  # the worker has not flushed it yet

    statistics.aggregate_hour(timezone.now())

    assert ChatStatistics.objects.get(period="hour", collection_name="queued").total_queries == 1
