"""Thin Celery tasks: each calls one analytics service."""

from dataclasses import asdict

from celery import shared_task

from analytics.services import daily_reports, knowledge_gaps, retention, statistics, summaries
from analytics.services.message_logs import flush_log_outbox


@shared_task(name="analytics.roll_up")
def roll_up() -> dict:
    return asdict(statistics.roll_up())


@shared_task(name="analytics.apply_retention")
def apply_retention() -> dict:
    return asdict(retention.apply_retention())


@shared_task(name="analytics.flush_log_outbox")
def flush_log_outbox_task() -> dict:
    return asdict(flush_log_outbox())


@shared_task(name="analytics.find_knowledge_gaps")
def find_knowledge_gaps() -> int:
    return knowledge_gaps.find_gaps()


@shared_task(name="analytics.write_daily_reports")
def write_daily_reports() -> int:
    return daily_reports.write_reports()


@shared_task(name="analytics.summarize_conversations")
def summarize_conversations() -> int:
    return summaries.summarize_recent()
