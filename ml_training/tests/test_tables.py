"""The seven learning tables as the database enforces them: the fixed seed DDL defects, generated
columns, triggers, the monthly partitions, and that the admin SQL route cannot read any of them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chat.services.sql_guard import ALLOWED_TABLES, UnsafeSqlError, validate_select
from ml_training.models import (
    DataQueueItem,
    ModelVersion,
    NluTrainingData,
    PerformanceMetric,
    QueueStatus,
    RagEmbeddingQueueItem,
    TrainingJob,
)
from ml_training.services.partitions import ensure_partitions, existing_partitions, partition_name

pytestmark = pytest.mark.django_db


def queue_item(**fields):
    values = {"model_type": "nlu", "raw_data": {"input_text": "5천원으로 뭐 먹지"}, "source_table": "conversations"}
    values.setdefault("source_id", str(DataQueueItem.objects.count() + 1))
    return DataQueueItem.objects.create(**{**values, **fields})


@pytest.mark.parametrize("raw_data", [{"input_text": "x"}, [{"input_text": "x"}]])
def test_raw_data_accepts_a_non_empty_object_or_array(raw_data):
    assert queue_item(raw_data=raw_data).pk


@pytest.mark.parametrize("raw_data", [{}, [], "text", 3])
def test_raw_data_refuses_empty_or_scalar_json_with_the_check_not_an_error(raw_data):
    with pytest.raises(IntegrityError, match="ml_queue_raw_data_not_empty"), transaction.atomic():
        queue_item(raw_data=raw_data)


def test_one_queue_row_per_source_and_model_type():
    queue_item(source_id="7")
    queue_item(source_id="7", model_type="recommendation")
    with pytest.raises(IntegrityError, match="ml_queue_source_model_uniq"), transaction.atomic():
        queue_item(source_id="7")


def test_becoming_ready_sets_processed_at_by_trigger_even_through_a_queryset_update():
    item = queue_item()
    DataQueueItem.objects.filter(pk=item.pk).update(status=QueueStatus.READY)
    item.refresh_from_db()
    assert item.processed_at is not None


def test_updated_at_is_touched_by_trigger_on_nlu_training_data():
    row = NluTrainingData.objects.create(input_text="x", true_intent="FOOD_REQUEST", label_source="manual")
    old = timezone.now() - dt.timedelta(days=3)
    NluTrainingData.objects.filter(pk=row.pk).update(created_at=old, updated_at=old)
    row.refresh_from_db()
    assert row.updated_at > old + dt.timedelta(days=2)


def test_training_job_duration_is_generated_from_start_and_end():
    start = timezone.now()
    job = TrainingJob.objects.create(
        job_name="nlu_1", model_type="nlu", data_count=10, start_time=start, end_time=start + dt.timedelta(seconds=95)
    )
    job.refresh_from_db()
    assert job.duration_seconds == 95


def test_training_job_split_cannot_exceed_the_data_count():
    with pytest.raises(IntegrityError, match="ml_job_data_counts"), transaction.atomic():
        TrainingJob.objects.create(
            job_name="x", model_type="nlu", data_count=10, train_count=8, validation_count=2, test_count=1
        )


@pytest.mark.parametrize(
    ("positive", "negative", "score"), [(0, 0, "0.500"), (1, 0, "0.667"), (0, 1, "0.333"), (9, 1, "0.833")]
)
def test_rag_quality_score_is_smoothed_so_one_vote_does_not_flip_it(positive, negative, score):
    item = RagEmbeddingQueueItem.objects.create(
        document_id="1", document_type="document", content="c", positive_feedback=positive, negative_feedback=negative
    )
    item.refresh_from_db()
    assert item.quality_score == Decimal(score)


def test_rag_vector_must_have_the_declared_dimension():
    with pytest.raises(IntegrityError, match="ml_rag_vector_dimension"), transaction.atomic():
        RagEmbeddingQueueItem.objects.create(
            document_id="1", document_type="faq", content="c", embedding_vector=[0.1, 0.2], embedding_dimension=3
        )


def test_only_one_active_model_version_per_type():
    ModelVersion.objects.create(model_type="nlu", version="1.0.0", model_path="a", is_active=True)
    with pytest.raises(IntegrityError, match="ml_version_one_active"), transaction.atomic():
        ModelVersion.objects.create(model_type="nlu", version="1.1.0", model_path="b", is_active=True)


def test_performance_metrics_is_partitioned_by_month_with_measured_at_in_the_primary_key():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT partstrat, pg_get_constraintdef(con.oid) FROM pg_partitioned_table pt "
            "JOIN pg_constraint con ON con.conrelid = pt.partrelid AND con.contype = 'p' "
            "WHERE pt.partrelid = 'ml_training_performance_metrics'::regclass"
        )
        strategy, primary_key = cursor.fetchone()
    assert strategy == "r"
    assert primary_key == "PRIMARY KEY (id, measured_at)"


def test_a_metric_lands_in_its_month_partition_with_a_generated_success_rate():
    metric = PerformanceMetric.objects.create(model_type="nlu", request_count=8, success_count=6)
    metric.refresh_from_db()
    assert metric.success_rate == Decimal("0.7500")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM ml_training_performance_metrics WHERE id = %s", [metric.pk]
        )
        assert cursor.fetchone()[0] == partition_name(timezone.now().date().replace(day=1))


def test_ensure_partitions_creates_the_coming_months_once():
    far = dt.date(2031, 11, 15)
    assert ensure_partitions(today=far, months_ahead=2) == [
        "ml_training_performance_metrics_2031_11",
        "ml_training_performance_metrics_2031_12",
        "ml_training_performance_metrics_2032_01",
    ]
    assert ensure_partitions(today=far, months_ahead=2) == []
    assert "ml_training_performance_metrics_2032_01" in existing_partitions()


def test_a_metric_for_a_month_without_partition_is_refused():
    with pytest.raises(IntegrityError, match="no partition"), transaction.atomic():
        PerformanceMetric.objects.create(
            model_type="nlu", request_count=1, success_count=1, measured_at=timezone.now() + dt.timedelta(days=800)
        )


def test_no_learning_table_is_readable_through_the_admin_sql_route():
    tables = {model._meta.db_table for model in apps.get_app_config("ml_training").get_models()}
    assert len(tables) >= 8
    assert not tables & ALLOWED_TABLES
    for table in tables:
        with pytest.raises(UnsafeSqlError):
            validate_select(f"SELECT count(*) FROM {table}")
