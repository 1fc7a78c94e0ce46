"""The admin dashboard's numbers (seed 002 §7.2), from the same report functions as the API."""

from datetime import timedelta

from django.utils import timezone

from analytics.models import ChatStatistics
from analytics.services import reports

# preset -> (period, days): short ranges hour by hour, long ones day by day.
PRESETS = {"24h": (reports.HOURLY, 1), "7d": (reports.HOURLY, 7), "30d": (reports.DAILY, 30),
           "90d": (reports.DAILY, 90)}  # fmt: skip
DEFAULT_PRESET = "7d"
TABLE_ROWS = 10


def range_params(preset: str, date_from: str = "", date_to: str = "") -> dict:
    """The API query (`RangeQuerySerializer` input) a dashboard choice stands for."""
    if date_from or date_to:
        dates = {"date_from": date_from, "date_to": date_to}
        return {"period": reports.DAILY, **{name: value for name, value in dates.items() if value}}
    period, days = PRESETS.get(preset, PRESETS[DEFAULT_PRESET])
    return {"period": period, "days": days}


def collections() -> list[str]:
    return list(ChatStatistics.objects.order_by("collection_name").values_list("collection_name", flat=True).distinct())


def build(range_: reports.Range, *, collection: str = "", channel: str = "") -> dict:
    scope = {"collection": collection, "channel": channel}
    today = timezone.localdate()
    day = {
        name: reports.summary(reports.resolve_range(date_from=on, date_to=on), **scope)["queries"]
        for name, on in (("today", today), ("yesterday", today - timedelta(days=1)))
    }
    summary = reports.summary(range_, **scope)
    return {
        "summary": summary,
        "queries_today": day["today"],
        "queries_yesterday": day["yesterday"],
        "timeline": [
            {**point, "label": _label(point["start"], range_.period)} for point in reports.timeline(range_, **scope)
        ],
        "top_queries": list(reports.top_queries(range_, **scope)[:TABLE_ROWS]),
        "no_answer_questions": [
            gap for gap in reports.knowledge_gaps(range_, **scope, limit=100) if gap["reasons"]["no_answer"]
        ][:TABLE_ROWS],
    }


def _label(start: str, period: str) -> str:
    """'2026-03-02' for a day, '03-02 14:00' for an hour (start is local ISO time)."""
    return start[:10] if period == reports.DAILY else f"{start[5:10]} {start[11:16]}"
