"""What staff read (seed 002 §4.4, §7): summary, timeline, top queries, knowledge gaps.

The API and the admin dashboard both call these functions. Summary and timeline read only the
rollups (`ChatStatistics`): sums add up, response-time percentiles come from the merged
histograms, distinct sessions and users from the merged HyperLogLog sketches (exact when the
range is a single rollup row). Top queries and knowledge gaps group the raw logs of the range (one indexed
range scan), since question texts are not rolled up.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Q
from django.db.models.functions import Left
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from analytics.models import ChatStatistics, MessageLog
from analytics.services import histogram, hll
from analytics.services.statistics import LOGS_CTE, day_start, hour_start
from ml_training.models import AnswerFeedback, FeedbackVote

HOURLY = "hourly"
DAILY = "daily"
MAX_HOURLY_DAYS = 31
MAX_DAYS = 366
DEFAULT_DAYS = 7
LOW_SCORE = 0.5  # an answer whose best retrieved chunk scored below this is a badly grounded one
QUERY_LENGTH = 200

_SUMS = (
    "total_queries", "response_count", "response_time_sum_ms", "total_tokens", "error_count", "partial_count",
    "regeneration_count", "no_answer_count", "scored_count", "top_score_sum",
)  # fmt: skip
_ROW_VALUES = (
    *_SUMS, "unique_sessions", "active_users", "response_time_histogram", "top_score_histogram", "session_sketch",
    "user_sketch",
)  # fmt: skip


@dataclass(frozen=True)
class Range:
    """[start, end) in local time, read from hourly or daily rollups."""

    period: str
    start: datetime
    end: datetime

    @property
    def rollup_period(self) -> str:
        return ChatStatistics.Period.HOUR if self.period == HOURLY else ChatStatistics.Period.DAY

    def as_dict(self) -> dict:
        return {"period": self.period, "start": self.start.isoformat(), "end": self.end.isoformat()}


def resolve_range(
    *, period: str = DAILY, days: int | None = None, date_from: date | None = None, date_to: date | None = None,
    now: datetime | None = None,
) -> Range:  # fmt: skip
    """The range staff asked for: the last `days` (hourly: 24 h each, up to the current hour), or
    the local days `date_from`..`date_to` (either end defaults around the other); default the last week."""
    if days is not None and (date_from or date_to):
        raise ValidationError({"days": _("Give either days or date_from/date_to, not both.")})
    now = now or timezone.now()
    today = timezone.localdate(now)
    if date_from or date_to:
        date_to = date_to or today
        date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
        if date_from > date_to:
            message = _("date_from %(date_from)s is after date_to %(date_to)s.") % {
                "date_from": date_from,
                "date_to": date_to,
            }
            raise ValidationError({"date_from": message})
        span = (date_to - date_from).days + 1
        start, end = day_start(date_from), day_start(date_to + timedelta(days=1))
    else:
        span = DEFAULT_DAYS if days is None else days
        if period == HOURLY:
            end = hour_start(now) + timedelta(hours=1)
            start = end - timedelta(days=span)
        else:
            start, end = day_start(today - timedelta(days=span - 1)), day_start(today + timedelta(days=1))
    limit = MAX_HOURLY_DAYS if period == HOURLY else MAX_DAYS
    if span > limit:
        message = _("A %(period)s range can span at most %(limit)d days; this one spans %(span)d.")
        raise ValidationError({"period": message % {"period": period, "limit": limit, "span": span}})
    return Range(period=period, start=start, end=end)


def _rollups(range_: Range, collection: str = "", channel: str = ""):
    rows = ChatStatistics.objects.filter(
        period=range_.rollup_period, period_start__gte=range_.start, period_start__lt=range_.end
    )
    if collection:
        rows = rows.filter(collection_name=collection)
    if channel:
        rows = rows.filter(channel=channel)
    return rows


def _distinct(rows: list[dict], exact: str, sketch: str) -> int:
    """Distinct sessions or users of rollup rows: a row's own exact count, else the merged sketches'."""
    if len(rows) == 1:
        return rows[0][exact]
    return hll.estimate(hll.merge(row[sketch] for row in rows))


def _ratio(part, whole) -> float | None:
    return part / whole if whole else None


def _metrics(sums: dict, latency, scores) -> dict:
    """The seed §7.1 numbers of merged rollup rows: sums of the rows and their merged histograms."""
    queries = sums["total_queries"] or 0
    answers = queries + (sums["regeneration_count"] or 0)
    return {
        "queries": queries,
        "answers": answers,
        "response_time_ms": {
            "avg": _ratio(sums["response_time_sum_ms"], sums["response_count"]),
            "p50": histogram.quantile(latency, 0.5),
            "p95": histogram.quantile(latency, 0.95),
            "p99": histogram.quantile(latency, 0.99),
        },
        "tokens": sums["total_tokens"] or 0,
        "errors": sums["error_count"] or 0,
        "error_rate": _ratio(sums["error_count"], answers),
        "partial_answers": sums["partial_count"] or 0,
        "partial_rate": _ratio(sums["partial_count"], answers),
        "regenerations": sums["regeneration_count"] or 0,
        "regeneration_ratio": _ratio(sums["regeneration_count"], queries),
        "no_answers": sums["no_answer_count"] or 0,
        "no_answer_rate": _ratio(sums["no_answer_count"], answers),
        "top_score": {
            "avg": _ratio(sums["top_score_sum"], sums["scored_count"]),
            "histogram": [
                {"lower": edge, "count": int(count)}
                for edge, count in zip(histogram.score_bucket_edges(), scores, strict=True)
            ],
        },
    }


def _merge(rows) -> dict:
    """Sums and merged histograms of rollup rows (a list of dicts with the _SUMS and histogram keys)."""
    sums = {name: sum(row[name] for row in rows) for name in _SUMS}
    latency = histogram.merge((row["response_time_histogram"] for row in rows), histogram.LATENCY_BUCKETS)
    scores = histogram.merge((row["top_score_histogram"] for row in rows), histogram.SCORE_BUCKETS)
    return _metrics(sums, latency, scores)


def summary(range_: Range, *, collection: str = "", channel: str = "") -> dict:
    """The range's numbers in one object, plus the same per channel and collection."""
    rows = list(_rollups(range_, collection, channel).values("channel", "collection_name", *_ROW_VALUES))
    metrics = _merge(rows)
    unique_sessions = _distinct(rows, "unique_sessions", "session_sketch")
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["channel"], row["collection_name"]), []).append(row)
    return {
        "range": range_.as_dict(),
        "collection": collection,
        "channel": channel,
        **metrics,
        "unique_sessions": unique_sessions,
        "active_users": _distinct(rows, "active_users", "user_sketch"),
        "avg_session_length": _ratio(metrics["answers"], unique_sessions),
        "feedback": feedback(range_, answers=metrics["answers"], collection=collection, channel=channel),
        "by_collection": [
            {"channel": channel_name, "collection_name": name, **_merge(group)}
            for (channel_name, name), group in sorted(groups.items())
        ],
    }


def feedback(range_: Range, *, answers: int, collection: str = "", channel: str = "") -> dict:
    """Thumbs given in the range (ml_training's answer feedback; a regeneration's implicit vote is not
    a thumb) and the share of answers that got one. A collection is a knowledge base's rag_key, a
    partner's id, or "dining"."""
    votes = AnswerFeedback.objects.filter(
        created_at__gte=range_.start, created_at__lt=range_.end, is_implicit=False
    ).exclude(vote="")
    if channel:
        votes = votes.filter(channel=channel)
    if collection == "dining":
        votes = votes.filter(conversation__isnull=False)
    elif collection:
        votes = votes.filter(Q(knowledge_message__conversation__rag_key=collection) | Q(partner_id=collection))
    counts = votes.aggregate(
        thumbs_up=Count("pk", filter=Q(vote=FeedbackVote.UP)),
        thumbs_down=Count("pk", filter=Q(vote=FeedbackVote.DOWN)),
    )
    return {**counts, "feedback_rate": _ratio(counts["thumbs_up"] + counts["thumbs_down"], answers)}


def timeline(range_: Range, *, collection: str = "", channel: str = "") -> list[dict]:
    """One point per hour or day of the range (empty periods included), each merged over collections."""
    by_start: dict[datetime, list] = {}
    for row in _rollups(range_, collection, channel).values("period_start", *_ROW_VALUES):
        by_start.setdefault(row["period_start"], []).append(row)
    points, start = [], range_.start
    while start < range_.end:
        group = by_start.get(start, [])
        metrics = _merge(group)
        del metrics["top_score"]
        points.append(
            {
                "start": timezone.localtime(start).isoformat(),
                **metrics,
                "unique_sessions": _distinct(group, "unique_sessions", "session_sketch"),
                "active_users": _distinct(group, "active_users", "user_sketch"),
            }
        )
        if range_.period == HOURLY:
            start += timedelta(hours=1)
        else:
            start = day_start(timezone.localdate(start) + timedelta(days=1))
    return points


def logs_in(range_: Range, *, collection: str = "", channel: str = ""):
    logs = MessageLog.objects.filter(created_at__gte=range_.start, created_at__lt=range_.end)
    if collection:
        logs = logs.filter(collection_name=collection)
    if channel:
        logs = logs.filter(channel=channel)
    return logs


def top_queries(range_: Range, *, collection: str = "", channel: str = ""):
    """The questions asked most often in the range (first QUERY_LENGTH characters), a values queryset."""
    return (
        logs_in(range_, collection=collection, channel=channel)
        .filter(message_type=MessageLog.MessageType.USER)
        .exclude(content="")
        .annotate(query=Left("content", QUERY_LENGTH))
        .values("query")
        .annotate(count=Count("id"), sessions=Count("session_id", distinct=True), last_asked_at=Max("created_at"))
        .order_by("-count", "query")
    )


# The question an answer `l` (a row of LOGS_CTE) answered: the session's last user message before it.
QUESTION_OF_ANSWER = f"""CROSS JOIN LATERAL (
        SELECT u.content FROM {MessageLog._meta.db_table} u
        WHERE u.session_id = l.session_id AND u.channel = l.channel AND u.collection_name = l.collection_name
          AND u.message_type = 'user' AND u.created_at <= l.created_at
        ORDER BY u.created_at DESC LIMIT 1
    ) q"""

_GAPS = f"""
WITH {LOGS_CTE},
bad AS (
    SELECT l.channel, l.collection_name, l.created_at,
           lower(normalize(btrim(left(q.content, {QUERY_LENGTH})), NFKC)) AS question,
           l.no_answer, l.failed AND NOT l.partial AS error, l.regenerated,
           l.top_score IS NOT NULL AND l.top_score < %(low)s AS low_score
    FROM logs l
    {QUESTION_OF_ANSWER}
    WHERE l.answer AND (l.no_answer OR (l.failed AND NOT l.partial) OR l.regenerated
                        OR (l.top_score IS NOT NULL AND l.top_score < %(low)s))
      AND (%(collection)s = '' OR l.collection_name = %(collection)s)
      AND (%(channel)s = '' OR l.channel = %(channel)s)
)
SELECT question, count(*), count(*) FILTER (WHERE no_answer), count(*) FILTER (WHERE error),
       count(*) FILTER (WHERE low_score), count(*) FILTER (WHERE regenerated), max(created_at),
       array_agg(DISTINCT collection_name)
FROM bad WHERE question <> ''
GROUP BY question
ORDER BY count(*) DESC, question
LIMIT %(limit)s
"""


def knowledge_gaps(range_: Range, *, collection: str = "", channel: str = "", limit: int = 100) -> list[dict]:
    """Questions answered badly in the range (nothing found, an error, a poor retrieval score, or
    regenerated), grouped by their NFKC-normalised lower-case text, most frequent first."""
    params = {"start": range_.start, "end": range_.end, "low": LOW_SCORE, "collection": collection,
              "channel": channel, "limit": limit}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_GAPS, params)
        rows = cursor.fetchall()
    return [
        {
            "question": question,
            "count": count,
            "reasons": {"no_answer": no_answer, "error": error, "low_score": low, "regenerated": regenerated},
            "last_asked_at": last,
            "collections": collections,
        }
        for question, count, no_answer, error, low, regenerated, last, collections in rows
    ]
