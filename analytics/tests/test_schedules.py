from celery.schedules import crontab

from analytics.schedules import BEAT_SCHEDULE
from config.celery import app


def test_every_scheduled_analytics_job_is_a_registered_task():
    app.loader.import_default_modules()

    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks


def test_daily_stats_run_at_two_in_the_morning():
    [daily] = [e for e in BEAT_SCHEDULE.values() if e["task"] == "analytics.aggregate_previous_day"]

    assert daily["schedule"] == crontab(hour=2, minute=0)
