"""Periodic jobs of this app, installed into django-celery-beat's database scheduler."""

BEAT_SCHEDULE: dict = {
    # Documents whose processing task was lost (broker outage at upload time, worker crash) are re-queued.
    "rag-requeue-stale-documents": {"task": "rag.tasks.requeue_stale_documents", "schedule": 600.0},
}
