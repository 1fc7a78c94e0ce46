"""Hourly performance metrics per served version from real dining turns, and the drop trigger."""

import datetime as dt

import pytest
from django.utils import timezone

from chat.models import Conversation
from ml_training.models import PerformanceMetric, TrainingJob
from ml_training.services import metrics, registry, serving
from ml_training.services.partitions import ensure_partitions
from ml_training.tests.conftest import dining_turn
from ml_training.tests.registry_factories import nlu_version, recommendation_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("model_store")]


@pytest.fixture(autouse=True)
def refresh_every_call(monkeypatch):
    monkeypatch.setattr(serving, "CHECK_INTERVAL_S", 0.0)


def test_each_turn_records_the_version_that_served_it_and_the_hour_rolls_up_per_version(
    alice_client, kimbap, django_capture_on_commit_callbacks
):
    dining_turn(alice_client, "5천원으로 점심 뭐 먹지?")
    version = nlu_version()
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(version, by="staff")
    dining_turn(alice_client, "안녕")
    dining_turn(alice_client, "배고파 밥 추천해줘")
    last = Conversation.objects.latest("pk")
    negative = alice_client.post(f"/api/v1/chat/turns/{last.pk}/feedback", {"vote": "down"},
                                 format="json")  # fmt: skip
    assert negative.status_code == 201, negative.content

    served = [row.model_versions["nlu"]["version"] for row in Conversation.objects.order_by("pk")]
    assert served == ["builtin", version.version, version.version]
    rows = {row.model_version_id: row for row in metrics.roll_up_hour(timezone.now()) if row.model_type == "nlu"}

    assert set(rows) == {None, version.pk}
    builtin, champion = rows[None], rows[version.pk]
    assert (builtin.request_count, champion.request_count, champion.error_count) == (1, 2, 0)
    assert champion.p50_response_time_ms is not None and champion.p99_response_time_ms >= champion.p50_response_time_ms
    specific = champion.model_specific_metrics
    assert specific["negative_feedback_rate"] == 0.5
    assert 0 < specific["avg_confidence"] <= 1 and 0 <= specific["low_confidence_ratio"] <= 1
    assert "unknown_ratio" in specific


def test_rolling_an_hour_up_again_replaces_its_rows(alice_client, kimbap):
    dining_turn(alice_client)
    metrics.roll_up_hour(timezone.now())
    dining_turn(alice_client, "김밥 먹고싶어")

    metrics.roll_up_hour(timezone.now())

    rows = PerformanceMetric.objects.order_by("model_type")
    assert list(rows.values_list("model_type", "request_count")) == [("nlu", 2), ("recommendation", 2)]


def test_recommendation_selection_rate_per_served_version_champion_and_challenger(
    alice_client, bob_client, kimbap, django_capture_on_commit_callbacks
):
    builtin_turn = dining_turn(alice_client)
    champion, challenger = recommendation_version({"quality": 1.0}), recommendation_version({"distance": 1.0})
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(champion, by="staff")
        registry.start_ab(challenger, 100, by="staff")
    picked = dining_turn(alice_client)
    dining_turn(alice_client)
    dining_turn(alice_client, "안녕")  # nothing recommended: not a recommendation request
    with django_capture_on_commit_callbacks(execute=True):
        registry.stop_ab("recommendation", by="staff")
    dining_turn(bob_client)
    for body in (builtin_turn, picked):
        response = alice_client.post(f"/api/v1/recommendations/{body['session_info']['recommendation_id']}/selection",
                                     {"shop_id": kimbap.pk}, format="json")  # fmt: skip
        assert response.status_code == 200, response.content

    rows = {
        row.model_version_id: row for row in metrics.roll_up_hour(timezone.now()) if row.model_type == "recommendation"
    }

    assert {key: (row.request_count, row.model_specific_metrics) for key, row in rows.items()} == {
        None: (1, {"selections": 1, "selection_rate": 1.0}),
        challenger.pk: (2, {"selections": 1, "selection_rate": 0.5}),
        champion.pk: (1, {"selections": 0, "selection_rate": 0.0}),
    }
    summary = metrics.summary("recommendation", challenger.pk, since=timezone.now() - metrics.RECENT)
    assert summary["requests"] == 2 and summary["selection_rate"] == 0.5


def _hourly(version, at, *, low_confidence_ratio, requests=100):
    ensure_partitions(today=at.date(), months_ahead=0)
    PerformanceMetric.objects.create(
        model_type="nlu", model_version=version, measured_at=at, request_count=requests, success_count=requests,
        model_specific_metrics={"avg_confidence": 0.8, "low_confidence_ratio": low_confidence_ratio,
                                "unknown_ratio": 0.05, "negative_feedback_rate": 0.02},
    )  # fmt: skip


def _champion_deployed_days_ago(days: int):
    version = registry.activate(nlu_version(), by="staff")
    version.deployed_at = timezone.now() - dt.timedelta(days=days)
    version.save(update_fields=["deployed_at"])
    return version


def test_a_drop_against_the_first_week_starts_a_performance_job():
    champion = _champion_deployed_days_ago(10)
    _hourly(champion, champion.deployed_at + dt.timedelta(days=1), low_confidence_ratio=0.10)
    _hourly(champion, timezone.now() - dt.timedelta(hours=2), low_confidence_ratio=0.25)

    job = metrics.drop_training(margin=0.1)

    assert job is not None and job.triggered_by == "performance"


def test_no_job_while_the_champion_stays_within_the_margin():
    champion = _champion_deployed_days_ago(10)
    _hourly(champion, champion.deployed_at + dt.timedelta(days=1), low_confidence_ratio=0.10)
    _hourly(champion, timezone.now() - dt.timedelta(hours=2), low_confidence_ratio=0.15)

    assert metrics.drop_training(margin=0.1) is None
    assert not TrainingJob.objects.exists()


def test_each_knowledge_answer_records_the_retrieval_version_that_served_it(alice_client, knowledge_corpus):
    from chat.models import KnowledgeMessage
    from ml_training.tests.conftest import knowledge_answer

    knowledge_answer(alice_client)

    answer = KnowledgeMessage.objects.get(role="assistant")
    assert answer.model_versions == {"rag": {"version_id": None, "version": "builtin", "group": "champion"}}


def test_a_user_in_the_challenger_share_gets_it_on_every_turn_and_it_is_recorded(
    alice_client, kimbap, django_capture_on_commit_callbacks
):
    champion, challenger = nlu_version(), nlu_version()
    with django_capture_on_commit_callbacks(execute=True):
        registry.activate(champion, by="staff")
        registry.start_ab(challenger, 100, by="staff")

    first = dining_turn(alice_client, "점심 뭐 먹지")
    dining_turn(alice_client, "김밥 어때", session_id=first["session_info"]["session_id"])
    dining_turn(alice_client, "저녁 추천해줘")  # a new session

    assert [row.model_versions["nlu"] for row in Conversation.objects.order_by("pk")] == [
        {"version_id": challenger.pk, "version": challenger.version, "group": "challenger"}
    ] * 3
