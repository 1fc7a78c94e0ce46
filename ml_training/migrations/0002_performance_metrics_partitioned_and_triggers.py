"""The partitioned performance_metrics table and the triggers the seed meant to have.

- performance_metrics: PARTITION BY RANGE (measured_at), primary key (id, measured_at) as
  PostgreSQL requires, the seed's generated success_rate, CHECKs and indexes; this month's and the
  next months' partitions are created here and then ahead of time by a daily job.
- data_queue.processed_at: set when a row becomes ready (the seed's trigger called a function that
  set a column the table does not have).
- nlu_training_data.updated_at and rag_embeddings_queue.updated_at: kept current on every UPDATE,
  including queryset .update() calls that bypass Django.
"""

import django.db.models.deletion
import django.db.models.expressions
import django.db.models.functions.comparison
import django.db.models.functions.math
import django.utils.timezone
from django.db import migrations, models

PERFORMANCE_METRICS = """
CREATE TABLE ml_training_performance_metrics (
    id bigserial NOT NULL,
    model_type varchar(50) NOT NULL CHECK (model_type IN ('nlu', 'rag', 'recommendation')),
    model_version_id bigint NULL REFERENCES ml_training_model_versions (id) DEFERRABLE INITIALLY DEFERRED,
    measured_at timestamptz NOT NULL DEFAULT now(),
    measurement_window_minutes integer NOT NULL DEFAULT 60 CHECK (measurement_window_minutes > 0),
    request_count bigint NOT NULL CHECK (request_count >= 0),
    success_count bigint NOT NULL CHECK (success_count >= 0),
    error_count bigint NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    success_rate numeric(5, 4) GENERATED ALWAYS AS (
        CASE WHEN request_count > 0 THEN round(success_count::numeric / request_count, 4) ELSE 0 END
    ) STORED,
    avg_response_time_ms numeric(10, 2) NULL,
    min_response_time_ms integer NULL,
    max_response_time_ms integer NULL,
    p50_response_time_ms integer NULL,
    p95_response_time_ms integer NULL,
    p99_response_time_ms integer NULL,
    model_specific_metrics jsonb NULL,
    cpu_usage_percent numeric(5, 2) NULL CHECK (cpu_usage_percent BETWEEN 0 AND 100),
    memory_usage_mb numeric(10, 2) NULL,
    gpu_usage_percent numeric(5, 2) NULL CHECK (gpu_usage_percent BETWEEN 0 AND 100),
    user_satisfaction_score numeric(3, 2) NULL CHECK (user_satisfaction_score BETWEEN 0 AND 5),
    business_value_score numeric(10, 2) NULL,
    PRIMARY KEY (id, measured_at),
    CONSTRAINT ml_metrics_counts CHECK (success_count <= request_count AND error_count <= request_count)
) PARTITION BY RANGE (measured_at);
-- A version's metrics over time (dashboards, drop detection).
CREATE INDEX ml_metrics_model ON ml_training_performance_metrics (model_type, model_version_id, measured_at DESC);
CREATE INDEX ml_metrics_time ON ml_training_performance_metrics (measured_at DESC);
CREATE INDEX ml_metrics_performance ON ml_training_performance_metrics (success_rate DESC, avg_response_time_ms);
"""

TRIGGERS = """
CREATE FUNCTION ml_training_set_processed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.processed_at := coalesce(NEW.processed_at, now());
    RETURN NEW;
END $$;
CREATE TRIGGER ml_queue_processed_at BEFORE UPDATE ON ml_training_data_queue
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM 'ready' AND NEW.status = 'ready')
    EXECUTE FUNCTION ml_training_set_processed_at();

CREATE FUNCTION ml_training_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER ml_nlu_updated_at BEFORE UPDATE ON ml_training_nlu_training_data
    FOR EACH ROW EXECUTE FUNCTION ml_training_touch_updated_at();
CREATE TRIGGER ml_rag_updated_at BEFORE UPDATE ON ml_training_rag_embeddings_queue
    FOR EACH ROW EXECUTE FUNCTION ml_training_touch_updated_at();
"""

DROP_TRIGGERS = """
DROP TRIGGER ml_rag_updated_at ON ml_training_rag_embeddings_queue;
DROP TRIGGER ml_nlu_updated_at ON ml_training_nlu_training_data;
DROP FUNCTION ml_training_touch_updated_at();
DROP TRIGGER ml_queue_processed_at ON ml_training_data_queue;
DROP FUNCTION ml_training_set_processed_at();
"""


def create_partitions(apps, schema_editor):
    from ml_training.services.partitions import ensure_partitions

    ensure_partitions(using=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ml_training", "0001_learning_tables")]

    operations = [
        # Django knows the model (so test flushes truncate the table) but never creates or alters it.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(PERFORMANCE_METRICS, "DROP TABLE ml_training_performance_metrics")],
            state_operations=[
                migrations.CreateModel(
                    name="PerformanceMetric",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        (
                            "model_type",
                            models.CharField(
                                choices=[
                                    ("nlu", "nlu (intent and entities)"),
                                    ("rag", "rag (retrieval)"),
                                    ("recommendation", "Recommendation"),
                                ],
                                max_length=50,
                            ),
                        ),
                        (
                            "model_version",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="ml_training.modelversion",
                            ),
                        ),
                        ("measured_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("measurement_window_minutes", models.IntegerField(default=60)),
                        ("request_count", models.BigIntegerField()),
                        ("success_count", models.BigIntegerField()),
                        ("error_count", models.BigIntegerField(default=0)),
                        (
                            "success_rate",
                            models.GeneratedField(
                                db_persist=True,
                                expression=models.Case(
                                    models.When(
                                        request_count__gt=0,
                                        then=django.db.models.functions.math.Round(
                                            django.db.models.expressions.CombinedExpression(
                                                django.db.models.functions.comparison.Cast(
                                                    "success_count",
                                                    models.DecimalField(decimal_places=10, max_digits=20),
                                                ),
                                                "/",
                                                django.db.models.functions.comparison.Cast(
                                                    "request_count",
                                                    models.DecimalField(decimal_places=10, max_digits=20),
                                                ),
                                            ),
                                            4,
                                        ),
                                    ),
                                    default=models.Value(0),
                                    output_field=models.DecimalField(decimal_places=10, max_digits=20),
                                ),
                                output_field=models.DecimalField(decimal_places=4, max_digits=5),
                            ),
                        ),
                        (
                            "avg_response_time_ms",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True),
                        ),
                        ("min_response_time_ms", models.IntegerField(blank=True, null=True)),
                        ("max_response_time_ms", models.IntegerField(blank=True, null=True)),
                        ("p50_response_time_ms", models.IntegerField(blank=True, null=True)),
                        ("p95_response_time_ms", models.IntegerField(blank=True, null=True)),
                        ("p99_response_time_ms", models.IntegerField(blank=True, null=True)),
                        ("model_specific_metrics", models.JSONField(blank=True, null=True)),
                        (
                            "cpu_usage_percent",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True),
                        ),
                        (
                            "memory_usage_mb",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True),
                        ),
                        (
                            "gpu_usage_percent",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True),
                        ),
                        (
                            "user_satisfaction_score",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=3, null=True),
                        ),
                        (
                            "business_value_score",
                            models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True),
                        ),
                    ],
                    options={
                        "db_table": "ml_training_performance_metrics",
                        "ordering": ["-measured_at"],
                    },
                ),
            ],
        ),
        migrations.RunPython(create_partitions, migrations.RunPython.noop),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
