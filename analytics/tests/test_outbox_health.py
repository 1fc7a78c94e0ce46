"""GET /api/v1/health reports the log outbox backlog and says degraded when the flush is stuck."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import LogOutboxRecord
from analytics.services.message_logs import MAX_WRITE_ATTEMPTS, log_outbox_backlog
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db


def test_an_empty_outbox_is_not_stuck():
    assert log_outbox_backlog() == {"rows": 0, "oldest_age_seconds": 0.0, "out_of_attempts": False, "stuck": False}


def test_a_fresh_backlog_is_counted_but_not_stuck():
    exchange(flush=False)
    exchange(flush=False)

    backlog = log_outbox_backlog()

    assert backlog["rows"] == 2
    assert backlog["stuck"] is False


def test_rows_waiting_past_the_threshold_mean_the_flush_is_stuck(settings):
    settings.LOG_OUTBOX_STUCK_AFTER_SECONDS = 60
    exchange(flush=False)
    LogOutboxRecord.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    backlog = log_outbox_backlog()

    assert backlog["oldest_age_seconds"] == pytest.approx(300, abs=5)
    assert backlog["stuck"] is True


def test_rows_out_of_attempts_mean_the_flush_is_stuck():
    exchange(flush=False)
    LogOutboxRecord.objects.update(attempts=MAX_WRITE_ATTEMPTS)

    assert log_outbox_backlog()["stuck"] is True


@pytest.mark.django_db(transaction=True)
def test_health_says_degraded_with_the_backlog_when_the_flush_is_stuck(api_client, settings, celery_worker_thread):
    settings.LOG_OUTBOX_STUCK_AFTER_SECONDS = 60
    exchange(flush=False)
    LogOutboxRecord.objects.update(created_at=timezone.now() - timedelta(minutes=5))

    body = api_client.get("/api/v1/health").json()

    assert body["log_outbox"]["rows"] == 1
    assert body["log_outbox"]["stuck"] is True
    assert (body["status"], body["down"]) == ("degraded", [])
