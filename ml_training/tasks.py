"""Thin Celery tasks: each calls one ml_training service."""

from dataclasses import asdict

from celery import shared_task

from ml_training.services import jobs, metrics
from ml_training.services.partitions import ensure_partitions
from ml_training.services.preparation import prepare_daily_training_data


@shared_task(name="ml_training.prepare_daily_training_data")
def prepare_daily_training_data_task() -> list[dict]:
    return [{**asdict(summary), "avg_quality": str(summary.avg_quality)} for summary in prepare_daily_training_data()]


@shared_task(name="ml_training.create_metric_partitions")
def create_metric_partitions() -> list[str]:
    return ensure_partitions()


@shared_task(name="ml_training.run_training_job")
def run_training_job(job_id: int) -> str:
    job = jobs.run_job(job_id)
    return job.status if job else "missing"


@shared_task(name="ml_training.weekly_training")
def weekly_training() -> list[int]:
    return [job.pk for job in jobs.weekly_training()]


@shared_task(name="ml_training.threshold_training")
def threshold_training() -> list[int]:
    return [job.pk for job in jobs.threshold_training()]


@shared_task(name="ml_training.roll_up_performance_metrics")
def roll_up_performance_metrics() -> int:
    return len(metrics.roll_up_previous_hour())


@shared_task(name="ml_training.performance_drop_training")
def performance_drop_training() -> int | None:
    job = metrics.drop_training()
    return job.pk if job else None


@shared_task(name="ml_training.enqueue_due_training_jobs")
def enqueue_due_training_jobs() -> list[int]:
    return jobs.enqueue_due_jobs()
