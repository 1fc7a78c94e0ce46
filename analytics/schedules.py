"""Periodic jobs of this app, installed into django-celery-beat's database scheduler."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "analytics: stats for the past hour": {
        "task": "analytics.aggregate_previous_hour",
        "schedule": crontab(minute=5),  # a few minutes late so that the hour's last logs have landed
    },
    "analytics: stats for yesterday": {
        "task": "analytics.aggregate_previous_day",
        "schedule": crontab(hour=2, minute=0),
    },
    "analytics: retention and archive of old history and logs": {
        "task": "analytics.apply_retention",
        "schedule": crontab(hour=2, minute=30),
    },
    "analytics: replay the log outbox": {
        "task": "analytics.flush_log_outbox",
        "schedule": 5.0,  # seconds: the seed's flush interval; logs reach the staff views this late at most
        "options": {"expire_seconds": 10},  # runs missed while the worker was down are dropped, not replayed in a burst
    },
}
