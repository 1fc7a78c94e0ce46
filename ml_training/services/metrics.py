"""Hourly performance metrics per served version (seed 003 §9.6): NLU and recommendation from the
dining conversation rows, rag from the knowledge answers (each records the versions that served it,
`model_versions`) and their feedback; and the performance-drop trigger that compares the NLU
champion's recent hours with its first week.

One row per (model type, version, hour): rolling an hour up again replaces its rows, so the hourly job
can be re-run. Turns served by the builtin (curated NLU, hand-tuned ranking, default search) have no
version (`model_version` NULL). Recommendation: the turns that recommended shops, their selection
rate. Rag: the knowledge answers, their helpful-source rate.
"""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Aggregate, Avg, Count, FloatField, Max, Min, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from chat.models import Conversation, Intent, KnowledgeMessage, MessageRole, MessageStatus
from ml_training.models import FeedbackVote, ModelType, PerformanceMetric, TriggeredBy
from ml_training.services import registry
from ml_training.services.jobs import trigger
from ml_training.services.partitions import ensure_partitions

LOW_CONFIDENCE = Decimal("0.5")
FIRST_WEEK = dt.timedelta(days=7)
RECENT = dt.timedelta(hours=24)
DROP_SIGNALS = ("low_confidence_ratio", "negative_feedback_rate")
ROLLED_UP = (ModelType.NLU, ModelType.RECOMMENDATION, ModelType.RAG)
NEGATIVE = Q(feedback__vote=FeedbackVote.DOWN) | Q(feedback__rating__lte=2)
DINING_ERROR = Q(response_text="")


class Percentile(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=fraction, **extra)


def hour_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def roll_up_hour(start: dt.datetime) -> list[PerformanceMetric]:
    """Write the NLU, recommendation and rag metrics of the hour beginning at `start` (UTC, whole hour),
    one row per model type and served version."""
    start = hour_start(start)
    end = start + dt.timedelta(hours=1)
    turns = Conversation.objects.filter(timestamp__gte=start, timestamp__lt=end)
    answers = KnowledgeMessage.objects.filter(role=MessageRole.ASSISTANT, created_at__gte=start, created_at__lt=end)
    rows = [
        _row(ModelType.NLU, group, start, {
            "avg_confidence": round(float(group["avg_confidence"] or 0), 4),
            "low_confidence_ratio": round(group["low_confidence"] / group["requests"], 4),
            "unknown_ratio": round(group["unknown"] / group["requests"], 4),
            "negative_feedback_rate": round(group["negative"] / group["requests"], 4),
        })
        for group in _per_version(
            turns, ModelType.NLU, "processing_time_ms", errors=DINING_ERROR,
            avg_confidence=Avg("intent_confidence"),
            low_confidence=Count("id", filter=Q(intent_confidence__lt=LOW_CONFIDENCE)),
            unknown=Count("id", filter=Q(extracted_intent=Intent.UNKNOWN)),
            negative=Count("feedback", filter=NEGATIVE, distinct=True),
        )
    ] + [
        # Turns that recommended something; latency is the recommendation stage's. A selection made after
        # the hourly run counts when the hour is rolled up again.
        _row(ModelType.RECOMMENDATION, group, start, {
            "selections": group["selections"],
            "selection_rate": round(group["selections"] / group["requests"], 4),
        })
        for group in _per_version(
            turns.exclude(recommended_shop_ids=[]), ModelType.RECOMMENDATION, "rag_time_ms", errors=DINING_ERROR,
            selections=Count("id", filter=Q(selected_shop__isnull=False)),
        )
    ] + [
        # Knowledge answers; helpful: the asker marked one of the answer's sources.
        _row(ModelType.RAG, group, start, {
            "helpful_source_rate": round(group["helpful"] / group["requests"], 4),
            "negative_feedback_rate": round(group["negative"] / group["requests"], 4),
        })
        for group in _per_version(
            answers, ModelType.RAG, "latency_ms", errors=Q(status=MessageStatus.ERROR),
            helpful=Count("id", filter=Q(feedback__helpful_source__isnull=False), distinct=True),
            negative=Count("id", filter=NEGATIVE, distinct=True),
        )
    ]  # fmt: skip
    ensure_partitions(today=start.date(), months_ahead=0)
    with transaction.atomic():
        PerformanceMetric.objects.filter(model_type__in=ROLLED_UP, measured_at=start).delete()
        PerformanceMetric.objects.bulk_create(rows)
    return rows


def _per_version(turns, model_type: str, latency: str, *, errors: Q, **specific):
    """Per served version of `model_type` (None: the builtin): requests, errors (rows matching `errors`),
    latency statistics of the `latency` field and the `specific` aggregates."""
    return (
        turns.annotate(version_id=KT(f"model_versions__{model_type}__version_id"))
        .values("version_id")
        .annotate(
            requests=Count("id"),
            errors=Count("id", filter=errors),
            avg_ms=Avg(latency),
            min_ms=Min(latency),
            max_ms=Max(latency),
            p50=Percentile(latency, 0.5),
            p95=Percentile(latency, 0.95),
            p99=Percentile(latency, 0.99),
            **specific,
        )
    )


def _row(model_type: str, group: dict, start: dt.datetime, specific: dict) -> PerformanceMetric:
    return PerformanceMetric(
        model_type=model_type,
        model_version_id=int(group["version_id"]) if group["version_id"] else None,
        measured_at=start,
        measurement_window_minutes=60,
        request_count=group["requests"],
        success_count=group["requests"] - group["errors"],
        error_count=group["errors"],
        avg_response_time_ms=_decimal(group["avg_ms"]),
        min_response_time_ms=group["min_ms"],
        max_response_time_ms=group["max_ms"],
        p50_response_time_ms=_int(group["p50"]),
        p95_response_time_ms=_int(group["p95"]),
        p99_response_time_ms=_int(group["p99"]),
        model_specific_metrics=specific,
    )


def roll_up_previous_hour(now: dt.datetime | None = None) -> list[PerformanceMetric]:
    return roll_up_hour(hour_start(now or timezone.now()) - dt.timedelta(hours=1))


def summary(model_type: str, version_id: int | None, *, since: dt.datetime, until: dt.datetime | None = None) -> dict:
    """Request-weighted model-specific metrics of one version between `since` and `until` (hourly rows),
    with the request count and the highest hourly p95."""
    rows = PerformanceMetric.objects.filter(model_type=model_type, model_version_id=version_id,
                                            measured_at__gte=since)  # fmt: skip
    if until is not None:
        rows = rows.filter(measured_at__lt=until)
    requests, weighted, p95 = 0, {}, []
    for row in rows.only("request_count", "model_specific_metrics", "p95_response_time_ms"):
        requests += row.request_count
        for key, value in (row.model_specific_metrics or {}).items():
            weighted[key] = weighted.get(key, 0.0) + value * row.request_count
        if row.p95_response_time_ms is not None:
            p95.append(row.p95_response_time_ms)
    totals = {key: round(value / requests, 4) for key, value in weighted.items()} if requests else {}
    return {"requests": requests, **totals, "max_hourly_p95_ms": max(p95, default=None)}


def drop_training(*, margin: float | None = None, now: dt.datetime | None = None):
    """A job (triggered_by performance) when the champion's last 24 h are worse than its first week by
    `margin` (settings.NLU_DROP_MARGIN) in low-confidence ratio or negative-feedback rate."""
    margin = settings.NLU_DROP_MARGIN if margin is None else margin
    now = now or timezone.now()
    champion = registry.champion(ModelType.NLU)
    if champion is None or champion.deployed_at is None or now - champion.deployed_at < FIRST_WEEK:
        return None
    first_week = summary(ModelType.NLU, champion.pk, since=champion.deployed_at,
                         until=champion.deployed_at + FIRST_WEEK)  # fmt: skip
    recent = summary(ModelType.NLU, champion.pk, since=now - RECENT)
    if not first_week["requests"] or not recent["requests"]:
        return None
    if any(recent[signal] - first_week[signal] > margin for signal in DROP_SIGNALS):
        return trigger(ModelType.NLU, TriggeredBy.PERFORMANCE)
    return None


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(round(float(value), 2)))


def _int(value) -> int | None:
    return None if value is None else round(value)
