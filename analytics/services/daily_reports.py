"""The daily report per collection (seed 002 Phase 6): yesterday's numbers, top and badly answered
questions and search quality, as Markdown and HTML, kept in `CollectionReport` (listed in admin)."""

from datetime import date, timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from analytics.models import ChatStatistics, CollectionReport
from analytics.services import reports
from analytics.services.search_quality import search_quality

TOP = 10


def _percent(value) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _ms(value) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def write_reports(day: date | None = None) -> int:
    """Write (or replace) the report of every collection with traffic on `day` (default yesterday)."""
    day = day or timezone.localdate() - timedelta(days=1)
    collections = ChatStatistics.objects.filter(period=ChatStatistics.Period.DAY, date=day).values_list(
        "collection_name", flat=True
    )
    written = 0
    for collection in sorted(set(collections)):
        context = report_context(day, collection)
        CollectionReport.objects.update_or_create(
            collection_name=collection,
            day=day,
            defaults={
                "markdown": render_to_string("analytics/daily_report.md", context),
                "html": render_to_string("analytics/daily_report.html", context),
                "created_at": timezone.now(),
            },
        )
        written += 1
    return written


def report_context(day: date, collection: str) -> dict:
    range_ = reports.resolve_range(date_from=day, date_to=day)
    summary = reports.summary(range_, collection=collection)
    quality = search_quality(range_, collection=collection)
    timing = summary["response_time_ms"]
    return {
        "day": day,
        "collection": collection,
        "numbers": [
            ("Queries", summary["queries"]),
            ("Unique sessions", summary["unique_sessions"]),
            ("Active users", summary["active_users"]),
            ("Response time p50 / p95 / p99", f"{_ms(timing['p50'])} / {_ms(timing['p95'])} / {_ms(timing['p99'])}"),
            ("Error rate", _percent(summary["error_rate"])),
            ("Partial answers", summary["partial_answers"]),
            ("Regeneration ratio", _percent(summary["regeneration_ratio"])),
            ("No-answer rate", _percent(summary["no_answer_rate"])),
            ("Tokens", summary["tokens"]),
        ],
        "top_queries": list(reports.top_queries(range_, collection=collection)[:TOP]),
        "gaps": reports.knowledge_gaps(range_, collection=collection, limit=TOP),
        "most_cited": quality["most_cited"][:TOP],
        "never_retrieved": quality["never_retrieved"][:TOP],
    }
