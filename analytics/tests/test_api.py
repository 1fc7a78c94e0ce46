from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import ConversationHistory, MessageLog
from analytics.services import statistics
from analytics.tests.factories import exchange

pytestmark = pytest.mark.django_db

LOGS = "/api/v1/analytics/logs"
CONVERSATIONS = "/api/v1/analytics/conversations"
STATS = "/api/v1/analytics/stats"


@pytest.fixture
def logged():
    exchange(session_id="kb-1", collection_name="handbook")
    exchange(session_id="kb-2", collection_name="handbook", error="timeout")
    exchange(session_id="kb-3", collection_name="handbook", regenerated=True)
    exchange(session_id="p-1", collection_name="medilinx", channel="partner")


def ids(response, key):
    return sorted(row[key] for row in response.json()["results"])


@pytest.mark.parametrize("url", [LOGS, CONVERSATIONS, STATS])
def test_end_users_are_refused(alice_client, url):
    response = alice_client.get(url)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("url", [LOGS, CONVERSATIONS, STATS])
def test_partners_are_refused(partner_client, url):
    assert partner_client.get(url).status_code == 403


def test_anonymous_clients_are_refused(api_client):
    assert api_client.get(LOGS).status_code == 401


def test_staff_list_logs_paginated(staff_client, logged):
    response = staff_client.get(LOGS, {"page_size": 3})

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 8
    assert len(body["results"]) == 3
    assert set(body["results"][0]) >= {"log_id", "session_id", "collection_name", "message_type", "content",
                                       "reasoning_level", "llm_model", "llm_params", "retrieval_info",
                                       "performance", "error", "created_at"}  # fmt: skip


@pytest.mark.parametrize(
    ("params", "sessions"),
    [
        ({"collection": "medilinx"}, ["p-1", "p-1"]),
        ({"channel": "partner"}, ["p-1", "p-1"]),
        ({"session_id": "kb-2"}, ["kb-2", "kb-2"]),
        ({"has_error": "true"}, ["kb-2"]),
        ({"regenerated": "true"}, ["kb-3"]),
        ({"message_type": "user", "collection": "handbook"}, ["kb-1", "kb-2", "kb-3"]),
    ],
)
def test_log_filters(staff_client, logged, params, sessions):
    assert ids(staff_client.get(LOGS, params), "session_id") == sessions


def test_log_date_range_uses_local_days(staff_client, logged):
    MessageLog.objects.filter(session_id="kb-1").update(created_at=timezone.now() - timedelta(days=3))
    today = timezone.localdate()

    recent = staff_client.get(LOGS, {"date_from": today.isoformat(), "collection": "handbook"})
    older = staff_client.get(LOGS, {"date_to": (today - timedelta(days=2)).isoformat()})

    assert "kb-1" not in ids(recent, "session_id")
    assert ids(older, "session_id") == ["kb-1", "kb-1"]


def test_a_bad_filter_value_is_a_400_in_the_project_format(staff_client):
    response = staff_client.get(LOGS, {"date_from": "yesterday"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_read_one_log_by_log_id(staff_client, logged):
    log = MessageLog.objects.filter(session_id="kb-2", message_type="assistant").get()

    response = staff_client.get(f"{LOGS}/{log.log_id}")

    assert response.json()["error"] == "timeout"


@pytest.mark.parametrize(
    ("params", "conversations"),
    [
        ({"collection": "handbook"}, ["kb-1", "kb-2", "kb-3"]),
        ({"has_error": "true"}, ["kb-2"]),
        ({"regenerated": "true"}, ["kb-3"]),
        ({"channel": "partner"}, ["p-1"]),
        ({"session_id": "kb-1"}, ["kb-1"]),
    ],
)
def test_conversation_filters(staff_client, logged, params, conversations):
    assert ids(staff_client.get(CONVERSATIONS, params), "conversation_id") == conversations


def test_conversation_list_has_metadata_but_not_the_messages(staff_client, logged):
    row = staff_client.get(CONVERSATIONS, {"session_id": "kb-2"}).json()["results"][0]

    assert "messages" not in row
    assert row["metadata"]["retention_priority"] == "high"


def test_conversation_detail_has_messages_with_retrieved_docs(staff_client, logged):
    history = ConversationHistory.objects.get(conversation_id="kb-1")

    body = staff_client.get(f"{CONVERSATIONS}/{history.pk}").json()

    assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
    assert body["messages"][1]["retrieved_docs"][0]["doc_id"] == "hr-1"
    assert body["metadata"]["total_turns"] == 1


def test_stats_per_collection_and_period(staff_client, logged):
    statistics.roll_up()

    hourly = staff_client.get(STATS, {"period": "hour", "collection": "handbook"}).json()["results"]
    daily = staff_client.get(STATS, {"period": "day"}).json()["results"]

    assert len(hourly) == 1
    assert hourly[0]["metrics"]["total_queries"] == 2  # the regeneration is not a new question
    assert hourly[0]["metrics"]["regeneration_count"] == 1
    assert hourly[0]["metrics"]["error_count"] == 1
    assert hourly[0]["performance_percentiles"]["p95"] == pytest.approx(420, rel=0.01)
    assert sorted(row["collection_name"] for row in daily) == ["handbook", "medilinx"]


def test_conversation_text_search_looks_inside_messages(staff_client, logged):
    exchange(session_id="kb-9", user_message="주차 등록은 어디서 하나요?", assistant_message="총무팀에서 합니다.")

    assert ids(staff_client.get(CONVERSATIONS, {"q": "총무팀"}), "conversation_id") == ["kb-9"]
