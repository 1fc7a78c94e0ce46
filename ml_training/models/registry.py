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
    SCHEDULED = "scheduled", "예약됨"
    QUEUED = "queued", "대기열"
    PREPARING = "preparing", "준비 중"
    TRAINING = "training", "학습 중"
    EVALUATING = "evaluating", "평가 중"
    COMPLETED = "completed", "완료"
    FAILED = "failed", "실패"
    CANCELLED = "cancelled", "취소됨"


class TriggeredBy(models.TextChoices):
    SCHEDULED = "scheduled", "정기 예약"
    MANUAL = "manual", "수동"
    THRESHOLD = "threshold", "데이터 기준 도달"
    PERFORMANCE = "performance", "성능 저하"


class TrainingJob(models.Model):
    job_name = models.CharField("작업 이름", max_length=200)
    model_type = models.CharField("모델 유형", max_length=50, choices=ModelType.choices)
    model_version = models.CharField("모델 버전", max_length=50, blank=True, default="")
    training_config = models.JSONField("학습 설정", default=dict)
    data_count = models.IntegerField("데이터 수")
    train_count = models.IntegerField("학습 데이터 수", null=True, blank=True)
    validation_count = models.IntegerField("검증 데이터 수", null=True, blank=True)
    test_count = models.IntegerField("테스트 데이터 수", null=True, blank=True)
    scheduled_at = models.DateTimeField("예약 시각", null=True, blank=True)
    start_time = models.DateTimeField("시작 시각", null=True, blank=True)
    end_time = models.DateTimeField("종료 시각", null=True, blank=True)
    duration_seconds = models.GeneratedField(
        verbose_name="소요 시간 (초)",
        expression=Func(
            F("end_time"),
            F("start_time"),
            template="(EXTRACT(EPOCH FROM (%(expressions)s)))::integer",
            arg_joiner=" - ",
        ),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    status = models.CharField(
        "상태", max_length=20, choices=TrainingJobStatus.choices, default=TrainingJobStatus.SCHEDULED
    )
    metrics = models.JSONField("지표", null=True, blank=True)
    improvement_rate = models.DecimalField("개선율", max_digits=5, decimal_places=4, null=True, blank=True)
    model_path = models.TextField("모델 경로", blank=True, default="")
    model_size_mb = models.DecimalField("모델 크기 (MB)", max_digits=10, decimal_places=2, null=True, blank=True)
    checkpoint_path = models.TextField("체크포인트 경로", blank=True, default="")
    log_path = models.TextField("로그 경로", blank=True, default="")
    error_message = models.TextField("오류 메시지", blank=True, default="")
    warnings = models.JSONField("경고", null=True, blank=True)
    created_by = models.CharField("만든 사람", max_length=100, default="system")
    triggered_by = models.CharField("시작 계기", max_length=50, choices=TriggeredBy.choices, blank=True, default="")
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    progress_percent = models.SmallIntegerField("진행률 (%)", default=0)
    log_tail = models.JSONField("최근 로그", default=list, blank=True, help_text="작업의 마지막 로그 줄")
    cancel_requested = models.BooleanField("취소 요청됨", default=False, help_text="실행기가 단계 사이에 확인")
    promotion = models.JSONField("승격 판정", null=True, blank=True, help_text="승격 게이트의 판정과 이유")

    class Meta:
        db_table = "ml_training_training_jobs"
        ordering = ["-created_at"]
        verbose_name = "학습 작업"
        verbose_name_plural = "학습 작업"
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
    DEVELOPMENT = "development", "개발"
    TESTING = "testing", "테스트"
    STAGING = "staging", "스테이징"
    PRODUCTION = "production", "운영"
    DEPRECATED = "deprecated", "사용 중단"
    ARCHIVED = "archived", "보관"


class ModelVersion(models.Model):
    """A trained model. One active version per model type is a partial unique index (it holds under
    concurrent activations, unlike the seed's trigger); an A/B challenger is marked by
    `ab_test_group` and `traffic_percentage`, never by a second active row."""

    model_type = models.CharField("모델 유형", max_length=50, choices=ModelType.choices)
    version = models.CharField("버전", max_length=20, help_text="유의적 버전, 예: 1.2.3")
    version_name = models.CharField("버전 이름", max_length=100, blank=True, default="")
    base_model = models.CharField("기반 모델", max_length=100, blank=True, default="")
    architecture = models.JSONField("구조", null=True, blank=True)
    training_job = models.ForeignKey(
        TrainingJob, verbose_name="학습 작업", on_delete=models.SET_NULL, null=True, blank=True, related_name="versions"
    )
    training_data_stats = models.JSONField("학습 데이터 통계", null=True, blank=True)
    performance_metrics = models.JSONField("성능 지표", default=dict)
    benchmark_results = models.JSONField("벤치마크 결과", null=True, blank=True)
    is_active = models.BooleanField("활성 (챔피언)", default=False)
    deployment_status = models.CharField(
        "배포 상태", max_length=20, choices=DeploymentStatus.choices, blank=True, default=""
    )
    model_path = models.TextField("모델 경로")
    model_size_mb = models.DecimalField("모델 크기 (MB)", max_digits=10, decimal_places=2, null=True, blank=True)
    checksum = models.CharField(
        "체크섬 (SHA256)", max_length=64, blank=True, default="", help_text="모델 파일의 sha256"
    )
    ab_test_group = models.CharField("A/B 그룹", max_length=10, blank=True, default="")
    traffic_percentage = models.DecimalField("트래픽 비율 (%)", max_digits=5, decimal_places=2, default=0)
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    created_by = models.CharField("만든 사람", max_length=100, default="system")
    deployed_at = models.DateTimeField("배포 시각", null=True, blank=True)
    deployed_by = models.CharField("배포한 사람", max_length=100, blank=True, default="")
    retired_at = models.DateTimeField("은퇴 시각", null=True, blank=True)
    retired_by = models.CharField("은퇴시킨 사람", max_length=100, blank=True, default="")
    notes = models.TextField("메모", blank=True, default="")

    class Meta:
        db_table = "ml_training_model_versions"
        ordering = ["model_type", "-created_at"]
        verbose_name = "모델 버전"
        verbose_name_plural = "모델 버전"
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

    id = models.BigAutoField("ID", primary_key=True)
    model_type = models.CharField("모델 유형", max_length=50, choices=ModelType.choices)
    model_version = models.ForeignKey(
        ModelVersion, verbose_name="모델 버전", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+"
    )
    measured_at = models.DateTimeField("측정 시각", default=timezone.now)
    measurement_window_minutes = models.IntegerField("측정 구간 (분)", default=60)
    request_count = models.BigIntegerField("요청 수")
    success_count = models.BigIntegerField("성공 수")
    error_count = models.BigIntegerField("오류 수", default=0)
    # Mirrors the column of the RunSQL table (migration 0002); declared generated so inserts skip it.
    success_rate = models.GeneratedField(
        verbose_name="성공률",
        expression=Case(
            When(request_count__gt=0, then=Round(Cast("success_count", RATE) / Cast("request_count", RATE), 4)),
            default=Value(0),
            output_field=RATE,
        ),
        output_field=models.DecimalField(max_digits=5, decimal_places=4),
        db_persist=True,
    )
    avg_response_time_ms = models.DecimalField(
        "평균 응답 시간 (ms)", max_digits=10, decimal_places=2, null=True, blank=True
    )
    min_response_time_ms = models.IntegerField("최소 응답 시간 (ms)", null=True, blank=True)
    max_response_time_ms = models.IntegerField("최대 응답 시간 (ms)", null=True, blank=True)
    p50_response_time_ms = models.IntegerField("p50 응답 시간 (ms)", null=True, blank=True)
    p95_response_time_ms = models.IntegerField("p95 응답 시간 (ms)", null=True, blank=True)
    p99_response_time_ms = models.IntegerField("p99 응답 시간 (ms)", null=True, blank=True)
    model_specific_metrics = models.JSONField("모델별 지표", null=True, blank=True)
    cpu_usage_percent = models.DecimalField("CPU 사용률 (%)", max_digits=5, decimal_places=2, null=True, blank=True)
    memory_usage_mb = models.DecimalField("메모리 사용량 (MB)", max_digits=10, decimal_places=2, null=True, blank=True)
    gpu_usage_percent = models.DecimalField("GPU 사용률 (%)", max_digits=5, decimal_places=2, null=True, blank=True)
    user_satisfaction_score = models.DecimalField(
        "사용자 만족도", max_digits=3, decimal_places=2, null=True, blank=True
    )
    business_value_score = models.DecimalField(
        "비즈니스 가치 점수", max_digits=10, decimal_places=2, null=True, blank=True
    )

    class Meta:
        db_table = "ml_training_performance_metrics"
        ordering = ["-measured_at"]
        verbose_name = "모델 성능 지표"
        verbose_name_plural = "모델 성능 지표"

    def __str__(self):
        return f"{self.model_type} v{self.model_version_id} @ {self.measured_at:%Y-%m-%d %H:%M}"
