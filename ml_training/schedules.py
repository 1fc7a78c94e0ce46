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
    "ml_training: train when the ready NLU data reaches the seed minimum": {
        "task": "ml_training.threshold_training",
        "schedule": crontab(hour=2, minute=30),  # after the daily preparation
    },
    "ml_training: weekly NLU training": {
        "task": "ml_training.weekly_training",
        "schedule": crontab(day_of_week=1, hour=3, minute=30),
    },
    "ml_training: hourly performance metrics per model version": {
        "task": "ml_training.roll_up_performance_metrics",
        "schedule": crontab(minute=5),
    },
    "ml_training: retrain when the champion's metrics drop": {
        "task": "ml_training.performance_drop_training",
        "schedule": crontab(hour=4, minute=0),
    },
    "ml_training: queue the training jobs that are due": {
        "task": "ml_training.enqueue_due_training_jobs",
        "schedule": crontab(minute="*/5"),
    },
}
