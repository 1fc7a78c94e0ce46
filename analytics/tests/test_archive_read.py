"""Reading archives back through the staff API and the commands, and restoring them by command."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.models import MessageLog
from analytics.services.retention import apply_retention
from analytics.tests.test_retention import log

pytestmark = pytest.mark.django_db

API = "/api/v1/analytics/archive"
TODAY = timezone.localdate()
RANGE = {"date_from": (TODAY - timedelta(days=120)).isoformat(), "date_to": TODAY.isoformat()}


@pytest.fixture
def archived(settings):
    settings.MESSAGE_LOG_COMPRESS_AFTER_DAYS = 90
    log("old", days_old=100)
    log("recent", days_old=1)
    apply_retention()
    assert list(MessageLog.objects.values_list("session_id", flat=True)) == ["recent"]


def test_staff_read_live_and_archived_logs_of_a_range(staff_client, archived):
    response = staff_client.get(f"{API}/logs", {**RANGE, "output": "json"})

    rows = json.loads(b"".join(response.streaming_content))
    assert sorted(row["session_id"] for row in rows) == ["old", "recent"]


def test_archived_conversations_are_read_back_too(staff_client, archived):
    response = staff_client.get(f"{API}/conversations", RANGE)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_a_reversed_archive_range_is_a_400(staff_client):
    response = staff_client.get(f"{API}/logs", {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    assert response.status_code == 400
    assert "date_to보다 늦습니다" in response.json()["error"]["message"]


def test_archive_reads_are_staff_only(alice_client):
    assert alice_client.get(f"{API}/logs", RANGE).status_code == 403


def test_read_archive_command_prints_live_and_archived_rows(archived, capsysbinary):
    call_command("read_archive", "message-logs", "--from", RANGE["date_from"], "--to", RANGE["date_to"])

    rows = json.loads(capsysbinary.readouterr().out)
    assert sorted(row["session_id"] for row in rows) == ["old", "recent"]


def test_restore_archive_command_puts_the_rows_back(archived):
    out = StringIO()

    call_command("restore_archive", "message-logs", "--from", RANGE["date_from"], "--to", RANGE["date_to"], stdout=out)

    assert "1 rows restored" in out.getvalue()
    assert sorted(MessageLog.objects.values_list("session_id", flat=True)) == ["old", "recent"]
