"""Periodic jobs of this app, installed into django-celery-beat's database scheduler."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    "ml_training: prepare yesterday's training data": {
        "task": "ml_training.prepare_daily_training_data",
        "schedule": crontab(hour=2, minute=0),
    },
    "ml_training: create the coming months' metric partitions": {
        "task": "ml_training.create_metric_partitions",
        "schedule": crontab(hour=3, minute=15),  # daily, so a missed run is made up long before the month turns
    },
}
