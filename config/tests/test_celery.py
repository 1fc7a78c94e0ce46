import pytest

from config.celery import app, collect_beat_schedule
from config.tasks import echo


@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_redis_and_a_real_worker(celery_worker_thread):
    assert not app.conf.task_always_eager
    result = echo.delay({"hello": "세계"})
    assert result.get(timeout=10) == {"hello": "세계"}


def test_broker_is_redis_with_late_acks_and_prefetch_one():
    assert app.conf.broker_url.startswith(("redis://", "redis+socket://", "rediss://"))
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_beat_uses_the_database_scheduler_with_every_apps_schedule():
    assert app.conf.beat_scheduler == "config.beat:EditableDatabaseScheduler"
    assert app.conf.beat_schedule == collect_beat_schedule()
