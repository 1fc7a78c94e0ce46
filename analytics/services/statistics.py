"""Hourly and daily rollups per channel and collection (seed 002 §3.3, §4.3, §7.1).

`roll_up()` (every few minutes, and `aggregate_chat_stats`) reads the message logs above the
watermark (`RollupWatermark`), re-aggregates every local day those logs fall in (its hours, the
day and its sessions) and moves the watermark, all in one transaction. So an hour is rolled up
again when a late log lands in it, and hours missed while the worker was down are filled by the
next run; the current hour is rolled up as far as it goes and again when more logs arrive.

The hours (or days) of a run of days are aggregated from their raw logs in one INSERT ... SELECT
after deleting their old rows, so a re-run replaces them. What a row holds (per exchange, i.e.
per assistant message):

- total_queries: answers that are not regenerations (a regeneration answers the same question again);
- errors: answers with an error, partial ones (the client disconnected) counted apart;
- no-answers: nothing retrieved (`retrieved_count` 0) or flagged `no_answer` by the chat;
- response times and top retrieval scores as mergeable histograms (`histogram`); tokens, sums;
- unique sessions and active users (hashed user of the conversation) of the window, exact, and
  as HyperLogLog sketches (`hll`) that merge into distinct counts over any range.

Feedback (thumbs) is not in the message logs yet, so no rollup counts it (see the README).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from analytics.models import ChatStatistics, ConversationHistory, MessageLog, RollupWatermark
from analytics.services import histogram, hll
from analytics.services.message_logs import FLUSH_LOCK_KEY, flush_log_outbox

TOP_QUERIES = 5
TOP_QUERY_LENGTH = 200
WATERMARK = "message-logs"
PARTIAL_ERROR_PREFIX = "client disconnected"  # the knowledge and partner chats' partial-answer errors

# A number from a JSON column, or NULL when the caller sent none / something else.
JSON_NUMBER = "CASE WHEN jsonb_typeof({column} -> '{key}') = 'number' THEN ({column} ->> '{key}')::float END"
_TOP_SCORE = """(
    SELECT max(score::text::float) FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(retrieval_info -> 'top_scores') = 'array' THEN retrieval_info -> 'top_scores'
             ELSE '[]'::jsonb END) AS score
    WHERE jsonb_typeof(score) = 'number'
)"""

# Every log of the window, with the per-answer facts the rollup and the reports count.
LOGS_CTE = f"""
logs AS (
    SELECT l.channel, l.collection_name, l.session_id, l.message_type, l.content, l.regenerated, l.created_at,
           coalesce(h.user_hash, '') AS user_hash,
           l.message_type = 'assistant' AS answer,
           coalesce(l.llm_params ->> 'status' = 'partial' OR l.error LIKE '{PARTIAL_ERROR_PREFIX}%%', false) AS partial,
           l.error <> '' AS failed,
           ({JSON_NUMBER.format(column="l.retrieval_info", key="retrieved_count")} = 0
            OR l.retrieval_info ->> 'no_answer' = 'true') IS TRUE AND l.error = '' AS no_answer,
           {JSON_NUMBER.format(column="l.performance", key="response_time_ms")} AS response_time_ms,
           {JSON_NUMBER.format(column="l.performance", key="token_count")} AS token_count,
           {_TOP_SCORE} AS top_score
    FROM {MessageLog._meta.db_table} l
    LEFT JOIN {ConversationHistory._meta.db_table} h
        ON h.channel = l.channel AND h.collection_name = l.collection_name AND h.conversation_id = l.session_id
    WHERE l.created_at >= %(start)s AND l.created_at < %(end)s
)"""


def _dense(name: str, *, bucket: str, where: str, size: int, value: str = "count(*)", digits: int = 8) -> str:
    """CTE `<name>`: per group, `value` aggregated over the rows of each `bucket` (a 1-based SQL
    expression) as bytea, one big-endian `digits`-hex-digit cell per bucket (int32 counts, or single
    bytes for sketch registers) that numpy reads without parsing. Written as hex from the non-empty
    buckets with the zeros between them repeated in, which costs per non-empty bucket."""
    zero = "0" * digits
    return f"""
{name}_buckets AS (
    SELECT slot, channel, collection_name, {bucket} AS bucket, {value} AS n
    FROM slotted WHERE {where}
    GROUP BY 1, 2, 3, 4
), {name} AS MATERIALIZED (
    SELECT slot, channel, collection_name,
           decode(string_agg(repeat('{zero}', bucket - previous - 1) || lpad(to_hex(n), {digits}, '0'), ''
                             ORDER BY bucket) || repeat('{zero}', {size} - max(bucket)), 'hex') AS counts
    FROM (SELECT *, coalesce(lag(bucket) OVER (PARTITION BY slot, channel, collection_name ORDER BY bucket), 0)
                    AS previous
          FROM {name}_buckets) AS spaced
    GROUP BY 1, 2, 3
)"""


_SESSION_KEY = "channel || '/' || collection_name || '/' || session_id"
_HISTOGRAM_CTES = ",".join(
    (
        _dense(
            "latency", bucket=histogram.LATENCY_BUCKET_SQL.format(ms="response_time_ms"),
            where="answer AND response_time_ms IS NOT NULL", size=histogram.LATENCY_BUCKETS,
        ),
        _dense(
            "scores", bucket=histogram.SCORE_BUCKET_SQL.format(score="top_score"),
            where="answer AND top_score IS NOT NULL", size=histogram.SCORE_BUCKETS,
        ),
        _dense(
            "sessions", bucket=hll.REGISTER_SQL.format(value=_SESSION_KEY), where="true",
            value=f"max({hll.RANK_SQL.format(value=_SESSION_KEY)})", size=hll.REGISTERS, digits=2,
        ),
        _dense(
            "users", bucket=hll.REGISTER_SQL.format(value="user_hash"), where="user_hash <> ''",
            value=f"max({hll.RANK_SQL.format(value='user_hash')})", size=hll.REGISTERS, digits=2,
        ),
    )
)  # fmt: skip

# Every hour (or day) of [start, end) at once: `slot` is the local hour or day a log falls in.
_AGGREGATE = f"""
WITH {LOGS_CTE},
slotted AS MATERIALIZED (
    SELECT *, date_trunc(%(unit)s, created_at AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s AS slot FROM logs
),
base AS MATERIALIZED (
    SELECT slot, channel, collection_name,
           count(*) FILTER (WHERE answer AND NOT regenerated) AS total_queries,
           count(DISTINCT session_id) AS unique_sessions,
           count(DISTINCT nullif(user_hash, '')) AS active_users,
           count(response_time_ms) FILTER (WHERE answer) AS response_count,
           coalesce(sum(response_time_ms) FILTER (WHERE answer), 0) AS response_time_sum_ms,
           avg(response_time_ms) FILTER (WHERE answer) AS avg_ms,
           coalesce(sum(token_count) FILTER (WHERE answer), 0)::bigint AS total_tokens,
           count(*) FILTER (WHERE answer AND failed AND NOT partial) AS error_count,
           count(*) FILTER (WHERE answer AND partial) AS partial_count,
           count(*) FILTER (WHERE answer AND regenerated) AS regeneration_count,
           count(*) FILTER (WHERE answer AND no_answer) AS no_answer_count,
           count(top_score) FILTER (WHERE answer) AS scored_count,
           coalesce(sum(top_score) FILTER (WHERE answer), 0) AS top_score_sum
    FROM slotted
    GROUP BY slot, channel, collection_name
),{_HISTOGRAM_CTES},
ranked AS (
    SELECT slot, channel, collection_name, left(content, {TOP_QUERY_LENGTH}) AS query,
           row_number() OVER (PARTITION BY slot, channel, collection_name
                              ORDER BY count(*) DESC, left(content, {TOP_QUERY_LENGTH})) AS rank
    FROM slotted
    WHERE message_type = 'user' AND content <> ''
    GROUP BY slot, channel, collection_name, left(content, {TOP_QUERY_LENGTH})
),
top AS MATERIALIZED (
    SELECT slot, channel, collection_name, jsonb_agg(query ORDER BY rank) AS top_queries
    FROM ranked WHERE rank <= {TOP_QUERIES}
    GROUP BY slot, channel, collection_name
)
INSERT INTO {ChatStatistics._meta.db_table} (
    period, period_start, date, hour, channel, collection_name, total_queries, unique_sessions, active_users,
    avg_response_time_ms, response_count, response_time_sum_ms, response_time_histogram, total_tokens,
    error_count, partial_count, regeneration_count, no_answer_count, scored_count, top_score_sum,
    top_score_histogram, session_sketch, user_sketch, top_queries, computed_at
)
SELECT %(period)s, b.slot, (b.slot AT TIME ZONE %(tz)s)::date,
       CASE WHEN %(period)s = 'hour' THEN extract(hour FROM b.slot AT TIME ZONE %(tz)s)::int END,
       b.channel, b.collection_name, b.total_queries,
       b.unique_sessions, b.active_users, b.avg_ms, b.response_count, b.response_time_sum_ms,
       coalesce(l.counts, ''::bytea), b.total_tokens, b.error_count, b.partial_count, b.regeneration_count,
       b.no_answer_count, b.scored_count, b.top_score_sum, coalesce(s.counts, ''::bytea), se.counts,
       coalesce(u.counts, ''::bytea),
       coalesce(t.top_queries, '[]'::jsonb), now()
FROM base b
LEFT JOIN latency l USING (slot, channel, collection_name)
LEFT JOIN scores s USING (slot, channel, collection_name)
JOIN sessions se USING (slot, channel, collection_name)
LEFT JOIN users u USING (slot, channel, collection_name)
LEFT JOIN top t USING (slot, channel, collection_name)
RETURNING id, response_time_histogram
"""


@dataclass
class RollupResult:
    hours: int = 0  # hourly rows written
    days: int = 0
    logs: int = 0  # new logs read above the watermark


# The local days analytics can be asked about. The day after the last must exist (ranges end at the next
# midnight: 9999-12-31 overflowed into a 500), and before 1908 Seoul's offset had seconds (+08:27:52),
# which an RFC 3339 date-time cannot write.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
DAY_VALIDATORS = [MinValueValidator(FIRST_DAY), MaxValueValidator(LAST_DAY)]


def day_start(day: date) -> datetime:
    """Midnight starting the local calendar day `day` (TIME_ZONE), aware."""
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def hour_start(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def roll_up() -> RollupResult:
    """Roll up every local day with logs above the watermark (all its hours, the day and its
    sessions), then move the watermark past them."""
    flush_log_outbox()  # count the exchanges still queued in the log outbox too
    high = _highest_committed_log_id()
    result = RollupResult()
    with transaction.atomic():
        watermark, _ = RollupWatermark.objects.select_for_update().get_or_create(name=WATERMARK)
        if high <= watermark.last_log_id:
            return result
        new_logs = MessageLog.objects.filter(id__gt=watermark.last_log_id, id__lte=high)
        result.logs = new_logs.count()
        touched = new_logs.annotate(day=TruncDate("created_at")).values_list("day", flat=True).distinct()
        for first, last in _runs(sorted(touched.order_by())):
            result.hours += aggregate_days(first, last)
            result.days += (last - first).days + 1
        RollupWatermark.objects.filter(pk=WATERMARK).update(last_log_id=high, updated_at=timezone.now())
    return result


def rebuild_days(first: date, last: date) -> RollupResult:
    """Aggregate the local days `first`..`last` again (a manual repair; roll_up needs none)."""
    flush_log_outbox()
    with transaction.atomic():
        hours = aggregate_days(first, last)
    return RollupResult(hours=hours, days=(last - first).days + 1)


def aggregate_days(first: date, last: date) -> int:
    """Replace the hourly and daily rows of the local days `first`..`last` by those computed from
    their logs; returns the hourly rows written."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    _aggregate(ChatStatistics.Period.DAY, start, end)
    return _aggregate(ChatStatistics.Period.HOUR, start, end)


def _aggregate(period: str, start: datetime, end: datetime) -> int:
    ChatStatistics.objects.filter(period=period, period_start__gte=start, period_start__lt=end).delete()
    unit = "hour" if period == ChatStatistics.Period.HOUR else "day"
    params = {"period": period, "start": start, "end": end, "unit": unit, "tz": settings.TIME_ZONE}
    with connection.cursor() as cursor:
        cursor.execute(_AGGREGATE, params)
        written = cursor.fetchall()
        ids, percentiles = [], {0.5: [], 0.95: [], 0.99: []}
        for pk, counts in written:
            merged = histogram.merge([counts], histogram.LATENCY_BUCKETS)
            ids.append(pk)
            for q, values in percentiles.items():
                values.append(histogram.quantile(merged, q))
        cursor.execute(_SET_PERCENTILES, [ids, *percentiles.values()])
    return len(ids)


# The row's own percentiles, read from its histogram in Python (`histogram.quantile`, the one
# implementation the reports use too), written back in one statement.
_SET_PERCENTILES = f"""
UPDATE {ChatStatistics._meta.db_table} AS s
SET p50_response_time_ms = v.p50, p95_response_time_ms = v.p95, p99_response_time_ms = v.p99
FROM unnest(%s::bigint[], %s::float8[], %s::float8[], %s::float8[]) AS v(id, p50, p95, p99)
WHERE s.id = v.id
"""


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs: each run is aggregated by one set of statements."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _highest_committed_log_id() -> int:
    """The highest log id, read while no flush is writing: no lower id can be committed later."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [FLUSH_LOCK_KEY])
        try:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {MessageLog._meta.db_table}")
            return cursor.fetchone()[0]
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [FLUSH_LOCK_KEY])
