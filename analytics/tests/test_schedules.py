import pytest
from celery.schedules import crontab
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

from analytics.schedules import BEAT_SCHEDULE
from config.celery import app


def test_every_scheduled_analytics_job_is_a_registered_task():
    app.loader.import_default_modules()

    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_rollups_run_every_five_minutes():
    [rollup] = [e for e in BEAT_SCHEDULE.values() if e["task"] == "analytics.roll_up"]

    assert rollup["schedule"] == crontab(minute="*/5")


@pytest.mark.django_db
def test_queued_logs_are_flushed_every_five_seconds_and_missed_runs_expire():
    [(name, entry)] = [(n, e) for n, e in BEAT_SCHEDULE.items() if e["task"] == "analytics.flush_log_outbox"]

    ModelEntry.from_entry(name, app=app, **entry)  # what the database scheduler does on beat start

    job = PeriodicTask.objects.get(name=name)
    assert (job.interval.every, job.interval.period) == (5, "seconds")
    assert job.expire_seconds == 10
