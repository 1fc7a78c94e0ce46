"""Periodic jobs of this app, installed into django-celery-beat's database scheduler."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "analytics: hourly and daily rollups of new logs": {
        "task": "analytics.roll_up",
        # Only the hours new logs fall in are rolled up, so a run is cheap; a missed run is caught
        # up by the next one (the watermark), so late runs need not be replayed.
        "schedule": crontab(minute="*/5"),
        "options": {"expire_seconds": 240},
    },
    "analytics: retention and archive of old history and logs": {
        "task": "analytics.apply_retention",
        "schedule": crontab(hour=2, minute=30),
    },
    "analytics: knowledge gaps into FAQ candidates": {
        "task": "analytics.find_knowledge_gaps",
        "schedule": crontab(hour=3, minute=0),
    },
    "analytics: conversation summaries": {
        "task": "analytics.summarize_conversations",
        "schedule": crontab(hour=3, minute=45),
    },
    "analytics: daily report per collection": {
        "task": "analytics.write_daily_reports",
        "schedule": crontab(hour=3, minute=30),
    },
    "analytics: replay the log outbox": {
        "task": "analytics.flush_log_outbox",
        "schedule": 5.0,  # seconds: the seed's flush interval; logs reach the staff views this late at most
        "options": {"expire_seconds": 10},  # runs missed while the worker was down are dropped, not replayed in a burst
    },
}
