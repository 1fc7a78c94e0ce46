"""Beat schedules edited in admin survive a beat restart."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.beat import EditableDatabaseScheduler
from config.celery import app, collect_beat_schedule

pytestmark = pytest.mark.django_db(transaction=True)  # the scheduler closes and reopens its connection

FLUSH = "analytics: replay the log outbox"


def start_beat():
    app.finalize()  # what `celery beat` does first: the apps' schedules are merged in on finalize
    return EditableDatabaseScheduler(app=app, lazy=False)


def test_beat_start_installs_every_apps_schedule():
    start_beat()

    assert set(collect_beat_schedule()) <= set(PeriodicTask.objects.values_list("name", flat=True))


def test_an_interval_changed_in_admin_survives_a_beat_restart():
    start_beat()
    slower, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=FLUSH).update(interval=slower)

    start_beat()

    assert PeriodicTask.objects.get(name=FLUSH).interval.every == 30


def test_a_job_disabled_in_admin_stays_disabled_after_a_beat_restart():
    start_beat()
    PeriodicTask.objects.filter(name=FLUSH).update(enabled=False)

    start_beat()

    assert PeriodicTask.objects.get(name=FLUSH).enabled is False


def test_a_deleted_job_is_installed_again_at_the_next_start():
    start_beat()
    PeriodicTask.objects.filter(name=FLUSH).delete()

    start_beat()

    assert PeriodicTask.objects.get(name=FLUSH).interval.every == 5
