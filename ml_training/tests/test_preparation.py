"""Daily preparation (pending -> ready), the refusal below the seed's minimums, the stored scores
and the jobs' schedule."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from chat.tests.dining_factories import make_chat_user
from config.celery import app
from ml_training.models import DataQueueItem, TrainingJob, UserLearningData
from ml_training.schedules import BEAT_SCHEDULE
from ml_training.services.preparation import NotEnoughData, create_training_job, prepare_daily_training_data
from ml_training.services.quality import turn_quality_score
from ml_training.tests.conftest import dining_turn

pytestmark = pytest.mark.django_db


def queued(model_type="nlu", quality="0.9", **fields):
    values = {"input_text": "5천원으로 뭐 먹지", "intent": "BUDGET_INQUIRY", "entities": {"budget": 5000}}
    return DataQueueItem.objects.create(
        model_type=model_type,
        raw_data=values,
        quality_score=Decimal(quality),
        source_table="conversations",
        source_id=str(DataQueueItem.objects.count() + 1),
        **fields,
    )


def summary_of(model_type):
    return {s.model_type: s for s in prepare_daily_training_data()}[model_type]


def test_rows_above_the_seed_threshold_become_ready_with_a_training_sample():
    good, weak = queued(quality="0.8"), queued(quality="0.6")

    summary = summary_of("nlu")

    good.refresh_from_db()
    weak.refresh_from_db()
    assert (good.status, weak.status) == ("ready", "pending")
    assert good.processed_at is not None
    assert good.processed_data == {
        "text": "5천원으로 뭐 먹지",
        "intent": "BUDGET_INQUIRY",
        "entities": {"budget": 5000},
        "human_label": False,
    }
    assert (summary.prepared, summary.ready, summary.avg_quality) == (1, 1, Decimal("0.800"))


def test_recommendation_rows_use_their_own_threshold():
    queued("recommendation", quality="0.7")

    assert summary_of("recommendation").prepared == 1


def test_an_open_review_item_waits_and_a_reviewed_one_is_ready_with_the_reviewers_label():
    waiting = queued(quality="0.9", review_reason="low_confidence", priority=80)
    reviewed = queued(quality="0.2", review_reason="low_confidence", priority=80)
    DataQueueItem.objects.filter(pk=reviewed.pk).update(label_intent="FOOD_REQUEST", reviewed_at="2026-01-01T00:00Z")

    prepare_daily_training_data()

    waiting.refresh_from_db()
    reviewed.refresh_from_db()
    assert (waiting.status, reviewed.status) == ("pending", "ready")
    assert reviewed.processed_data["intent"] == "FOOD_REQUEST"
    assert reviewed.processed_data["human_label"] is True


def test_preparing_twice_changes_nothing_the_second_time():
    queued()
    prepare_daily_training_data()

    assert summary_of("nlu").prepared == 0


def test_a_training_job_is_refused_below_the_seed_minimum():
    for _ in range(99):
        queued()
    prepare_daily_training_data()

    with pytest.raises(NotEnoughData, match="nlu 학습 데이터가 부족합니다: 준비됨 99건, 필요 100건"):
        create_training_job("nlu")
    assert not TrainingJob.objects.exists()


def test_a_training_job_takes_the_ready_rows_at_the_minimum():
    DataQueueItem.objects.bulk_create(
        [
            DataQueueItem(
                model_type="rag", raw_data={"x": 1}, quality_score=Decimal("0.9"), source_table="t", source_id=str(i)
            )
            for i in range(50)
        ]
    )
    prepare_daily_training_data()

    job = create_training_job("rag", training_config={"grid": "small"})

    assert (job.model_type, job.data_count, job.status, job.triggered_by) == ("rag", 50, "scheduled", "manual")
    assert DataQueueItem.objects.filter(status="training").count() == 50


def test_the_command_says_why_it_refuses():
    with pytest.raises(CommandError, match="준비됨 0건, 필요 500건"):
        call_command("create_training_job", "--model-type", "recommendation")


def test_the_turn_quality_score_follows_the_seed_weights():
    perfect = turn_quality_score(confidence=1.0, response_ms=100, has_recommendations=True, response="가" * 100)
    nothing = turn_quality_score(confidence=0.0, response_ms=9000, has_recommendations=False, response="")

    assert (perfect, nothing) == (Decimal("1.0"), Decimal("0.0"))
    assert turn_quality_score(confidence=0.5, response_ms=100, has_recommendations=False, response="가" * 100) == (
        Decimal("0.55")
    )


def test_a_dining_turn_stores_its_quality_score(alice_client, kimbap):
    dining_turn(alice_client)

    item = DataQueueItem.objects.get()
    assert 0.5 < item.raw_data["quality"] <= 1.0


def test_preparation_stores_each_active_users_completeness_and_session_value(alice_client, kimbap):
    first = dining_turn(alice_client)
    dining_turn(alice_client, "그럼 8천원이면?", session_id=first["session_info"]["session_id"])

    prepare_daily_training_data()

    data = UserLearningData.objects.get()
    assert (data.nlu_features, data.interactions, data.recommendations, data.feedback) == (2, 2, 2, 0)
    # nlu 2/5, interactions 2/3, recommendations 2/2, feedback 0/1, averaged
    assert data.data_completeness == Decimal("0.517")
    assert (data.sessions, data.valuable_sessions) == (1, 1)


def test_a_user_without_data_has_no_row():
    make_chat_user()

    prepare_daily_training_data()

    assert not UserLearningData.objects.exists()


def test_every_scheduled_job_is_a_registered_task():
    app.loader.import_default_modules()

    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= set(app.tasks)
