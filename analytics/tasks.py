"""Thin Celery tasks: each calls one analytics service."""

from dataclasses import asdict

from celery import shared_task

from analytics.services import retention, statistics
from analytics.services.message_logs import flush_log_outbox


@shared_task(name="analytics.aggregate_previous_hour")
def aggregate_previous_hour() -> int:
    return statistics.aggregate_previous_hour()


@shared_task(name="analytics.aggregate_previous_day")
def aggregate_previous_day() -> int:
    return statistics.aggregate_previous_day()


@shared_task(name="analytics.apply_retention")
def apply_retention() -> dict:
    return asdict(retention.apply_retention())


@shared_task(name="analytics.flush_log_outbox")
def flush_log_outbox_task() -> dict:
    return asdict(flush_log_outbox())
