"""Hourly and daily usage statistics per channel and collection (seed 002 §3.3, §4.3, §7.1).

Each period is aggregated from the raw message logs in one INSERT ... SELECT ... ON CONFLICT DO
UPDATE, so re-running a period (a retried task, a late log replayed from the outbox) overwrites
its row instead of duplicating it. Daily percentiles are computed from the day's raw rows, not
from hourly rows (percentiles do not add up).
"""

from datetime import date, datetime, timedelta

from django.db import connection
from django.utils import timezone

from analytics.models import ChatStatistics, MessageLog
from analytics.services.message_logs import flush_log_outbox

TOP_QUERIES = 5
TOP_QUERY_LENGTH = 200

# A number from the performance JSON, or NULL when the caller sent none / something else.
_NUMBER = "CASE WHEN jsonb_typeof(performance -> '{key}') = 'number' THEN (performance ->> '{key}')::float END"

_AGGREGATE = f"""
WITH logs AS (
    SELECT channel, collection_name, session_id, message_type, content, error, regenerated,
           {_NUMBER.format(key="response_time_ms")} AS response_time_ms,
           {_NUMBER.format(key="token_count")} AS token_count
    FROM {MessageLog._meta.db_table}
    WHERE created_at >= %(start)s AND created_at < %(end)s
),
base AS (
    SELECT channel, collection_name,
           count(*) FILTER (WHERE message_type = 'user') AS total_queries,
           count(DISTINCT session_id) AS unique_sessions,
           avg(response_time_ms) FILTER (WHERE message_type = 'assistant') AS avg_ms,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms)
               FILTER (WHERE message_type = 'assistant') AS p50_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms)
               FILTER (WHERE message_type = 'assistant') AS p95_ms,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY response_time_ms)
               FILTER (WHERE message_type = 'assistant') AS p99_ms,
           coalesce(sum(token_count) FILTER (WHERE message_type = 'assistant'), 0)::bigint AS total_tokens,
           count(*) FILTER (WHERE message_type = 'assistant' AND error <> '') AS error_count,
           count(*) FILTER (WHERE message_type = 'assistant' AND regenerated) AS regeneration_count
    FROM logs
    GROUP BY channel, collection_name
),
ranked AS (
    SELECT channel, collection_name, left(content, {TOP_QUERY_LENGTH}) AS query,
           row_number() OVER (PARTITION BY channel, collection_name
                              ORDER BY count(*) DESC, left(content, {TOP_QUERY_LENGTH})) AS rank
    FROM logs
    WHERE message_type = 'user' AND content <> ''
    GROUP BY channel, collection_name, left(content, {TOP_QUERY_LENGTH})
),
top AS (
    SELECT channel, collection_name, jsonb_agg(query ORDER BY rank) AS top_queries
    FROM ranked WHERE rank <= {TOP_QUERIES}
    GROUP BY channel, collection_name
)
INSERT INTO {ChatStatistics._meta.db_table} AS s (
    period, period_start, date, hour, channel, collection_name, total_queries, unique_sessions,
    avg_response_time_ms, p50_response_time_ms, p95_response_time_ms, p99_response_time_ms,
    total_tokens, error_count, regeneration_count, top_queries, computed_at
)
SELECT %(period)s, %(start)s, %(date)s, %(hour)s, b.channel, b.collection_name, b.total_queries,
       b.unique_sessions, b.avg_ms, b.p50_ms, b.p95_ms, b.p99_ms, b.total_tokens, b.error_count,
       b.regeneration_count, coalesce(t.top_queries, '[]'::jsonb), now()
FROM base b LEFT JOIN top t USING (channel, collection_name)
ON CONFLICT (period, period_start, channel, collection_name) DO UPDATE SET
    total_queries = EXCLUDED.total_queries,
    unique_sessions = EXCLUDED.unique_sessions,
    avg_response_time_ms = EXCLUDED.avg_response_time_ms,
    p50_response_time_ms = EXCLUDED.p50_response_time_ms,
    p95_response_time_ms = EXCLUDED.p95_response_time_ms,
    p99_response_time_ms = EXCLUDED.p99_response_time_ms,
    total_tokens = EXCLUDED.total_tokens,
    error_count = EXCLUDED.error_count,
    regeneration_count = EXCLUDED.regeneration_count,
    top_queries = EXCLUDED.top_queries,
    computed_at = EXCLUDED.computed_at
"""


def day_start(day: date) -> datetime:
    """Midnight starting the local calendar day `day` (TIME_ZONE), aware."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def aggregate_hour(hour_start: datetime) -> int:
    """Aggregate the hour starting at `hour_start` (aware); returns the number of rows written."""
    flush_log_outbox()  # count the exchanges still queued in the log outbox too
    return _aggregate_hour(hour_start)


def aggregate_day(day: date) -> int:
    """Aggregate the local calendar day `day` (TIME_ZONE); returns the number of rows written."""
    flush_log_outbox()
    return _aggregate_day(day)


def aggregate_day_and_hours(day: date) -> tuple[int, int]:
    """Re-aggregate a whole local day: its 24 hourly rows, then the daily rows. Returns (hourly, daily)."""
    flush_log_outbox()
    start = day_start(day)
    hourly = sum(_aggregate_hour(start + timedelta(hours=hour)) for hour in range(24))
    return hourly, _aggregate_day(day)


def aggregate_previous_hour(now: datetime | None = None) -> int:
    current = timezone.localtime(now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    return aggregate_hour(current - timedelta(hours=1))


def aggregate_previous_day(now: datetime | None = None) -> int:
    return aggregate_day(timezone.localdate(now or timezone.now()) - timedelta(days=1))


def _aggregate_hour(hour_start: datetime) -> int:
    start = timezone.localtime(hour_start).replace(minute=0, second=0, microsecond=0)
    return _aggregate(ChatStatistics.Period.HOUR, start, start + timedelta(hours=1), start.hour)


def _aggregate_day(day: date) -> int:
    return _aggregate(ChatStatistics.Period.DAY, day_start(day), day_start(day + timedelta(days=1)), None)


def _aggregate(period: str, start: datetime, end: datetime, hour: int | None) -> int:
    params = {"period": period, "start": start, "end": end, "date": timezone.localdate(start), "hour": hour}
    with connection.cursor() as cursor:
        cursor.execute(_AGGREGATE, params)
        return cursor.rowcount
