"""Hourly performance metrics per served version (seed 003 §9.6): NLU from the dining conversation
rows, rag from the knowledge answers (each records the versions that served it, `model_versions`) and
their feedback; and the performance-drop trigger that compares the NLU champion's recent hours with its
first week.

One row per (model type, version, hour): rolling an hour up again replaces its rows, so the hourly job
can be re-run. Turns served by the builtin model have no version (`model_version` NULL).
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


class Percentile(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=fraction, **extra)


def hour_start(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def roll_up_hour(start: dt.datetime) -> list[PerformanceMetric]:
    """Write the NLU metrics of the hour beginning at `start` (UTC, whole hour), one row per version."""
    start = hour_start(start)
    end = start + dt.timedelta(hours=1)
    turns = Conversation.objects.filter(timestamp__gte=start, timestamp__lt=end)
    groups = (
        turns.annotate(version_id=KT("model_versions__nlu__version_id"))
        .values("version_id")
        .annotate(
            errors=Count("id", filter=Q(response_text="")),
            **_latency("processing_time_ms"),
            avg_confidence=Avg("intent_confidence"),
            low_confidence=Count("id", filter=Q(intent_confidence__lt=LOW_CONFIDENCE)),
            unknown=Count("id", filter=Q(extracted_intent=Intent.UNKNOWN)),
            negative=Count(
                "feedback", filter=Q(feedback__vote=FeedbackVote.DOWN) | Q(feedback__rating__lte=2), distinct=True
            ),
        )
    )
    rows = [
        _metric_row(ModelType.NLU, start, group, {
            "avg_confidence": round(float(group["avg_confidence"] or 0), 4),
            "low_confidence_ratio": round(group["low_confidence"] / group["requests"], 4),
            "unknown_ratio": round(group["unknown"] / group["requests"], 4),
            "negative_feedback_rate": round(group["negative"] / group["requests"], 4),
        })
        for group in groups
    ]  # fmt: skip
    return _replace(ModelType.NLU, start, rows)


def roll_up_rag_hour(start: dt.datetime) -> list[PerformanceMetric]:
    """Write the rag metrics of the hour beginning at `start`: per version that ranked the knowledge answers,
    requests, failed answers, latency and the helpful-source rate (answers whose asker marked a source)."""
    start = hour_start(start)
    answers = KnowledgeMessage.objects.filter(
        role=MessageRole.ASSISTANT, created_at__gte=start, created_at__lt=start + dt.timedelta(hours=1)
    )
    groups = (
        answers.annotate(version_id=KT("model_versions__rag__version_id"))
        .values("version_id")
        .annotate(
            errors=Count("id", filter=Q(status=MessageStatus.ERROR)),
            **_latency("latency_ms"),
            helpful=Count("id", filter=Q(feedback__helpful_source__isnull=False), distinct=True),
            negative=Count(
                "id", filter=Q(feedback__vote=FeedbackVote.DOWN) | Q(feedback__rating__lte=2), distinct=True
            ),
        )
    )
    rows = [
        _metric_row(ModelType.RAG, start, group, {
            "helpful_source_rate": round(group["helpful"] / group["requests"], 4),
            "negative_feedback_rate": round(group["negative"] / group["requests"], 4),
        })
        for group in groups
    ]  # fmt: skip
    return _replace(ModelType.RAG, start, rows)


def roll_up_previous_hour(now: dt.datetime | None = None) -> list[PerformanceMetric]:
    start = hour_start(now or timezone.now()) - dt.timedelta(hours=1)
    return roll_up_hour(start) + roll_up_rag_hour(start)


def _latency(field: str) -> dict:
    """The request count and latency aggregates of a group of turns timed in `field` (ms)."""
    return {
        "requests": Count("id"),
        "avg_ms": Avg(field),
        "min_ms": Min(field),
        "max_ms": Max(field),
        "p50": Percentile(field, 0.5),
        "p95": Percentile(field, 0.95),
        "p99": Percentile(field, 0.99),
    }


def _metric_row(model_type: str, start: dt.datetime, group: dict, specific: dict) -> PerformanceMetric:
    requests = group["requests"]
    return PerformanceMetric(
        model_type=model_type,
        model_version_id=int(group["version_id"]) if group["version_id"] else None,
        measured_at=start,
        measurement_window_minutes=60,
        request_count=requests,
        success_count=requests - group["errors"],
        error_count=group["errors"],
        avg_response_time_ms=_decimal(group["avg_ms"]),
        min_response_time_ms=group["min_ms"],
        max_response_time_ms=group["max_ms"],
        p50_response_time_ms=_int(group["p50"]),
        p95_response_time_ms=_int(group["p95"]),
        p99_response_time_ms=_int(group["p99"]),
        model_specific_metrics=specific,
    )


def _replace(model_type: str, start: dt.datetime, rows: list[PerformanceMetric]) -> list[PerformanceMetric]:
    ensure_partitions(today=start.date(), months_ahead=0)
    with transaction.atomic():
        PerformanceMetric.objects.filter(model_type=model_type, measured_at=start).delete()
        PerformanceMetric.objects.bulk_create(rows)
    return rows


def summary(version_id: int | None, *, since: dt.datetime, until: dt.datetime | None = None) -> dict:
    """Request-weighted NLU metrics of one version between `since` and `until` (hourly rows)."""
    rows = PerformanceMetric.objects.filter(model_type=ModelType.NLU, model_version_id=version_id,
                                            measured_at__gte=since)  # fmt: skip
    if until is not None:
        rows = rows.filter(measured_at__lt=until)
    totals = {"requests": 0, **dict.fromkeys(("avg_confidence", "low_confidence_ratio", "unknown_ratio",
                                              "negative_feedback_rate"), 0.0)}  # fmt: skip
    p95 = []
    for row in rows.only("request_count", "model_specific_metrics", "p95_response_time_ms"):
        totals["requests"] += row.request_count
        for key in totals.keys() - {"requests"}:
            totals[key] += (row.model_specific_metrics or {}).get(key, 0.0) * row.request_count
        if row.p95_response_time_ms is not None:
            p95.append(row.p95_response_time_ms)
    if totals["requests"]:
        for key in totals.keys() - {"requests"}:
            totals[key] = round(totals[key] / totals["requests"], 4)
    totals["max_hourly_p95_ms"] = max(p95, default=None)
    return totals


def drop_training(*, margin: float | None = None, now: dt.datetime | None = None):
    """A job (triggered_by performance) when the champion's last 24 h are worse than its first week by
    `margin` (settings.NLU_DROP_MARGIN) in low-confidence ratio or negative-feedback rate."""
    margin = settings.NLU_DROP_MARGIN if margin is None else margin
    now = now or timezone.now()
    champion = registry.champion(ModelType.NLU)
    if champion is None or champion.deployed_at is None or now - champion.deployed_at < FIRST_WEEK:
        return None
    first_week = summary(champion.pk, since=champion.deployed_at, until=champion.deployed_at + FIRST_WEEK)
    recent = summary(champion.pk, since=now - RECENT)
    if not first_week["requests"] or not recent["requests"]:
        return None
    if any(recent[signal] - first_week[signal] > margin for signal in DROP_SIGNALS):
        return trigger(ModelType.NLU, TriggeredBy.PERFORMANCE)
    return None


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(round(float(value), 2)))


def _int(value) -> int | None:
    return None if value is None else round(value)


