"""The beat scheduler: django-celery-beat's database scheduler that never overwrites staff's edits."""

from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler


class EditableDatabaseScheduler(DatabaseScheduler):
    """Installs each app's `schedules.py` entries that the database lacks; existing ones stay as staff left them.

    The stock scheduler re-applies the code's schedule to every entry at each beat start, so an interval,
    crontab or "enabled" flag changed in admin silently reverted. To stop a job for good, disable it in
    admin: a deleted entry is installed again at the next start.
    """

    def update_from_dict(self, mapping):
        existing = set(PeriodicTask.objects.filter(name__in=list(mapping)).values_list("name", flat=True))
        super().update_from_dict({name: entry for name, entry in mapping.items() if name not in existing})
