"""Periodic jobs of this app, installed into django-celery-beat's database scheduler."""

BEAT_SCHEDULE: dict = {}
