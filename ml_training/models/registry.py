"""Training jobs (seed 003 §9.4), model versions (§9.5) and performance metrics (§9.6).

The jobs' runner is `ml_training.services.jobs`, the registry `services.registry` and its serving
`services.serving`; these tables hold their state. `performance_metrics` is partitioned by month:
PostgreSQL needs the partition key in the primary key, so migration 0002 creates the table with
RunSQL and tells Django's state about it (SeparateDatabaseAndState): Django manages it (test
flushes truncate it) but never alters it.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Case, F, Func, Q, Value, When
from django.db.models.functions import Cast, Round
from django.utils import timezone

from ml_training.models.choices import ModelType, one_of

RATE = models.DecimalField(max_digits=20, decimal_places=10)


class TrainingJobStatus(models.TextChoices):
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    PREPARING = "preparing"
    TRAINING = "training"
    EVALUATING = "evaluating"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TriggeredBy(models.TextChoices):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    THRESHOLD = "threshold"
    PERFORMANCE = "performance"


class TrainingJob(models.Model):
    job_name = models.CharField(max_length=200)
    model_type = models.CharField(max_length=50, choices=ModelType.choices)
    model_version = models.CharField(max_length=50, blank=True, default="")
    training_config = models.JSONField(default=dict)
    data_count = models.IntegerField()
    train_count = models.IntegerField(null=True, blank=True)
    validation_count = models.IntegerField(null=True, blank=True)
    test_count = models.IntegerField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.GeneratedField(
        expression=Func(
            F("end_time"),
            F("start_time"),
            template="(EXTRACT(EPOCH FROM (%(expressions)s)))::integer",
            arg_joiner=" - ",
        ),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    status = models.CharField(max_length=20, choices=TrainingJobStatus.choices, default=TrainingJobStatus.SCHEDULED)
    metrics = models.JSONField(null=True, blank=True)
    improvement_rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    model_path = models.TextField(blank=True, default="")
    model_size_mb = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    checkpoint_path = models.TextField(blank=True, default="")
    log_path = models.TextField(blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    warnings = models.JSONField(null=True, blank=True)
    created_by = models.CharField(max_length=100, default="system")
    triggered_by = models.CharField(max_length=50, choices=TriggeredBy.choices, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    progress_percent = models.SmallIntegerField(default=0)
    log_tail = models.JSONField(default=list, blank=True, help_text="The job's last log lines")
    cancel_requested = models.BooleanField(default=False, help_text="Checked by the runner between steps")
    promotion = models.JSONField(null=True, blank=True, help_text="The promotion gate's decision and reason")

    class Meta:
        db_table = "ml_training_training_jobs"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=one_of("model_type", ModelType.values), name="ml_job_model_type_valid"),
            models.CheckConstraint(condition=one_of("status", TrainingJobStatus.values), name="ml_job_status_valid"),
            models.CheckConstraint(
                condition=one_of("triggered_by", TriggeredBy.values, blank=True), name="ml_job_triggered_by_valid"
            ),
            models.CheckConstraint(condition=Q(data_count__gte=0), name="ml_job_data_count_gte_0"),
            # NULL counts (not split yet) pass, as in the seed's expression.
            models.CheckConstraint(
                condition=Q(
                    train_count__isnull=True,
                )
                | Q(validation_count__isnull=True)
                | Q(test_count__isnull=True)
                | Q(data_count__gte=F("train_count") + F("validation_count") + F("test_count")),
                name="ml_job_data_counts",
            ),
            models.CheckConstraint(
                condition=Q(improvement_rate__isnull=True) | Q(improvement_rate__gte=-1, improvement_rate__lte=1),
                name="ml_job_improvement_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(end_time__isnull=True) | Q(start_time__isnull=True) | Q(end_time__gte=F("start_time")),
                name="ml_job_end_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="ml_job_status_scheduled"),
            models.Index(F("model_type"), F("start_time").desc(), name="ml_job_model_start"),
            GinIndex(fields=["metrics"], name="ml_job_metrics_gin"),
        ]

    def __str__(self):
        return self.job_name


class DeploymentStatus(models.TextChoices):
    DEVELOPMENT = "development"
    TESTING = "testing"
    STAGING = "staging"
    PRODUCTION = "production"
    DEPRECATED = "deprecated"
    ARCHIVED = "archived"


class ModelVersion(models.Model):
    """A trained model. One active version per model type is a partial unique index (it holds under
    concurrent activations, unlike the seed's trigger); an A/B challenger is marked by
    `ab_test_group` and `traffic_percentage`, never by a second active row."""

    model_type = models.CharField(max_length=50, choices=ModelType.choices)
    version = models.CharField(max_length=20, help_text="Semantic version, e.g. 1.2.3")
    version_name = models.CharField(max_length=100, blank=True, default="")
    base_model = models.CharField(max_length=100, blank=True, default="")
    architecture = models.JSONField(null=True, blank=True)
    training_job = models.ForeignKey(
        TrainingJob, on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    training_data_stats = models.JSONField(null=True, blank=True)
    performance_metrics = models.JSONField(default=dict)
    benchmark_results = models.JSONField(null=True, blank=True)
    is_active = models.BooleanField(default=False)
    deployment_status = models.CharField(max_length=20, choices=DeploymentStatus.choices, blank=True, default="")
    model_path = models.TextField()
    model_size_mb = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True, default="", help_text="sha256 of the artifact")
    ab_test_group = models.CharField(max_length=10, blank=True, default="")
    traffic_percentage = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=100, default="system")
    deployed_at = models.DateTimeField(null=True, blank=True)
    deployed_by = models.CharField(max_length=100, blank=True, default="")
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.CharField(max_length=100, blank=True, default="")
    notes = models.TextField(blank=True, default="")

    class Meta:
        db_table = "ml_training_model_versions"
        ordering = ["model_type", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=one_of("model_type", ModelType.values), name="ml_version_model_type_valid"
            ),
            models.CheckConstraint(
                condition=one_of("deployment_status", DeploymentStatus.values, blank=True),
                name="ml_version_deployment_status_valid",
            ),
            models.UniqueConstraint(fields=["model_type", "version"], name="ml_version_unique_version"),
            models.CheckConstraint(
                condition=Q(traffic_percentage__gte=0, traffic_percentage__lte=100), name="ml_version_traffic_0_100"
            ),
            models.UniqueConstraint(fields=["model_type"], condition=Q(is_active=True), name="ml_version_one_active"),
            models.UniqueConstraint(
                fields=["model_type"], condition=Q(ab_test_group="challenger"), name="ml_version_one_challenger"
            ),
            models.CheckConstraint(
                condition=one_of("ab_test_group", ["champion", "challenger"], blank=True),
                name="ml_version_ab_group_valid",
            ),
            models.CheckConstraint(
                condition=~Q(is_active=True, ab_test_group="challenger"), name="ml_version_challenger_not_active"
            ),
        ]
        indexes = [
            models.Index(fields=["deployment_status"], name="ml_version_deployment"),
            GinIndex(fields=["performance_metrics"], name="ml_version_performance_gin"),
        ]

    def __str__(self):
        return f"{self.model_type} {self.version}"


class PerformanceMetric(models.Model):
    """One measurement window of one model version (seed 003 §9.6).

    The table (ml_training_performance_metrics, migration 0002) is PARTITIONED BY RANGE (measured_at)
    into monthly partitions with PRIMARY KEY (id, measured_at); `id` alone is unique in practice (one
    sequence), which is what Django needs to address rows. Partitions are created ahead of time by
    `ml_training.services.partitions` (beat job and `create_metric_partitions`).
    """

    id = models.BigAutoField(primary_key=True)
    model_type = models.CharField(max_length=50, choices=ModelType.choices)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    measured_at = models.DateTimeField(default=timezone.now)
    measurement_window_minutes = models.IntegerField(default=60)
    request_count = models.BigIntegerField()
    success_count = models.BigIntegerField()
    error_count = models.BigIntegerField(default=0)
    # Mirrors the column of the RunSQL table (migration 0002); declared generated so inserts skip it.
    success_rate = models.GeneratedField(
        expression=Case(
            When(request_count__gt=0, then=Round(Cast("success_count", RATE) / Cast("request_count", RATE), 4)),
            default=Value(0),
            output_field=RATE,
        ),
        output_field=models.DecimalField(max_digits=5, decimal_places=4),
        db_persist=True,
    )
    avg_response_time_ms = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    min_response_time_ms = models.IntegerField(null=True, blank=True)
    max_response_time_ms = models.IntegerField(null=True, blank=True)
    p50_response_time_ms = models.IntegerField(null=True, blank=True)
    p95_response_time_ms = models.IntegerField(null=True, blank=True)
    p99_response_time_ms = models.IntegerField(null=True, blank=True)
    model_specific_metrics = models.JSONField(null=True, blank=True)
    cpu_usage_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    memory_usage_mb = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    gpu_usage_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    user_satisfaction_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    business_value_score = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        db_table = "ml_training_performance_metrics"
        ordering = ["-measured_at"]

    def __str__(self):
        return f"{self.model_type} v{self.model_version_id} @ {self.measured_at:%Y-%m-%d %H:%M}"
