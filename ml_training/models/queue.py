"""The training-data queue (seed 003 §9.3) and the RAG embedding queue (§9.8)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast, Round
from django.utils import timezone

from chat.models import ChatUser, Intent
from ml_training.models.choices import Channel, ModelType, QueueStatus, ReviewReason, between_0_and_1, one_of


class ReviewQuerySet(models.QuerySet):
    def open(self):
        """Review items nobody has labelled yet (what the review page lists first)."""
        return self.exclude(review_reason="").filter(reviewed_at__isnull=True)


class DataQueueItem(models.Model):
    """One training sample waiting for preparation, training or a human review.

    Each source row (a conversation, a recommendation log, a knowledge message, a partner turn)
    yields at most one row per model type: the unique (source_table, source_id, model_type) makes a
    retried request or two racing workers insert once (INSERT ... ON CONFLICT).
    """

    model_type = models.CharField("모델 유형", max_length=50, choices=ModelType.choices)
    raw_data = models.JSONField("원본 데이터", help_text="모은 그대로의 샘플 (개인정보 가림)")
    processed_data = models.JSONField("가공 데이터", null=True, blank=True, help_text="학습용으로 가공함")
    quality_score = models.DecimalField("품질 점수", max_digits=4, decimal_places=3, null=True, blank=True)
    validation_errors = models.JSONField("검증 오류", null=True, blank=True)
    status = models.CharField("상태", max_length=20, choices=QueueStatus.choices, default=QueueStatus.PENDING)
    error_message = models.TextField("오류 메시지", blank=True, default="")
    retry_count = models.IntegerField("재시도 횟수", default=0)
    source_table = models.CharField("원본 테이블", max_length=100, help_text="conversations, recommendations_log, …")
    source_id = models.CharField("원본 ID", max_length=100, help_text="원본 행의 기본 키 (또는 session:turn)")
    channel = models.CharField("채널", max_length=20, choices=Channel.choices, default=Channel.DINING)
    user = models.ForeignKey(
        ChatUser, verbose_name="사용자", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_id = models.CharField("세션 ID", max_length=255, blank=True, default="")
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    processed_at = models.DateTimeField("가공 시각", null=True, blank=True, help_text="ready가 될 때 트리거가 채움")
    trained_at = models.DateTimeField("학습 시각", null=True, blank=True)
    priority = models.IntegerField("우선순위", default=0, help_text="0-100, 높은 것부터 (검토 항목 80-95)")
    # The review workflow (not in the seed): why a human should look, and the label they gave.
    review_reason = models.CharField("검토 이유", max_length=30, choices=ReviewReason.choices, blank=True, default="")
    label_intent = models.CharField(
        "정답 의도", max_length=50, choices=Intent.choices, blank=True, default="", help_text="검토자가 정함"
    )
    label_entities = models.JSONField("정답 엔티티", null=True, blank=True)
    reviewed_at = models.DateTimeField("검토 시각", null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="검토자",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        db_table = "ml_training_data_queue"
        ordering = ["-priority", "created_at"]
        verbose_name = "학습 데이터 큐 항목"
        verbose_name_plural = "학습 데이터 큐"
        constraints = [
            models.CheckConstraint(condition=one_of("model_type", ModelType.values), name="ml_queue_model_type_valid"),
            models.CheckConstraint(condition=one_of("status", QueueStatus.values), name="ml_queue_status_valid"),
            models.CheckConstraint(condition=one_of("channel", Channel.values), name="ml_queue_channel_valid"),
            models.CheckConstraint(
                condition=one_of("review_reason", ReviewReason.values, blank=True), name="ml_queue_review_reason_valid"
            ),
            models.CheckConstraint(
                condition=one_of("label_intent", Intent.values, blank=True), name="ml_queue_label_intent_valid"
            ),
            models.CheckConstraint(condition=between_0_and_1("quality_score"), name="ml_queue_quality_0_1"),
            models.CheckConstraint(condition=Q(priority__gte=0, priority__lte=100), name="ml_queue_priority_0_100"),
            models.CheckConstraint(condition=Q(retry_count__gte=0), name="ml_queue_retry_count_gte_0"),
            # The seed's CHECK called jsonb_array_length on objects, which raises: test the type first.
            models.CheckConstraint(
                condition=Q(
                    Q(raw_data__jsonb_typeof="object") & ~Q(raw_data={})
                    | Q(raw_data__jsonb_typeof="array") & ~Q(raw_data=[])
                ),
                name="ml_queue_raw_data_not_empty",
            ),
            models.UniqueConstraint(
                fields=["source_table", "source_id", "model_type"], name="ml_queue_source_model_uniq"
            ),
        ]
        indexes = [
            # Preparation and training pick pending/ready rows by priority.
            models.Index(
                F("status"),
                F("priority").desc(),
                condition=Q(status__in=["pending", "ready"]),
                name="ml_queue_status_prio",
            ),
            models.Index(fields=["model_type", "status"], name="ml_queue_model_status"),
            models.Index(F("created_at").desc(), name="ml_queue_created_desc"),
            models.Index(F("quality_score").desc(), condition=Q(quality_score__gt=0.5), name="ml_queue_quality"),
            # The review page: open items, highest priority first.
            models.Index(
                F("priority").desc(),
                F("created_at"),
                condition=~Q(review_reason="") & Q(reviewed_at__isnull=True),
                name="ml_queue_review_open",
            ),
        ]

    def __str__(self):
        return f"{self.model_type} #{self.pk} {self.source_table}:{self.source_id}"


class ReviewItem(DataQueueItem):
    """The review page's view of the queue (admin: Review queue)."""

    class Meta:
        proxy = True
        ordering = ["-priority", "created_at"]
        verbose_name = "검토 항목"
        verbose_name_plural = "검토 대기열"


class RagDocumentType(models.TextChoices):
    SHOP = "shop", "가게"
    MENU = "menu", "메뉴"
    REVIEW = "review", "리뷰"
    FAQ = "faq", "FAQ"
    NOTICE = "notice", "공지"
    DOCUMENT = "document", "지식 베이스 문서"


class RagEmbeddingStatus(models.TextChoices):
    ACTIVE = "active", "사용 중"
    PENDING = "pending", "대기"
    PROCESSING = "processing", "처리 중"
    INACTIVE = "inactive", "사용 안 함"
    ERROR = "error", "오류"


class RagEmbeddingQueueItem(models.Model):
    """How one document performs in retrieval and whether it needs re-embedding (seed 003 §9.8).

    `quality_score` is smoothed, (positive + 1) / (positive + negative + 2): one vote moves it from
    0.5 to 0.667 or 0.333 instead of flipping it to 1 or 0 as the seed's ratio would.
    """

    document_id = models.CharField("문서 ID", max_length=100, help_text="rag 문서의 기본 키, shop_123, menu_456, …")
    document_type = models.CharField("문서 유형", max_length=50, choices=RagDocumentType.choices)
    title = models.CharField("제목", max_length=500, blank=True, default="")
    content = models.TextField("내용")
    content_hash = models.CharField(
        "내용 해시 (SHA256)", max_length=64, blank=True, default="", help_text="임베딩할 때 내용의 sha256"
    )
    metadata = models.JSONField("메타데이터", null=True, blank=True)
    embedding_model = models.CharField("임베딩 모델", max_length=100, blank=True, default="")
    embedding_vector = ArrayField(models.FloatField(), verbose_name="임베딩 벡터", null=True, blank=True)
    embedding_dimension = models.IntegerField("임베딩 차원", null=True, blank=True)
    search_count = models.IntegerField("검색 횟수", default=0)
    click_count = models.IntegerField("도움 표시 횟수", default=0, help_text="사용자가 도움 된 출처로 표시한 횟수")
    relevance_score = models.DecimalField("관련성 점수", max_digits=4, decimal_places=3, null=True, blank=True)
    positive_feedback = models.IntegerField("긍정 피드백", default=0)
    negative_feedback = models.IntegerField("부정 피드백", default=0)
    quality_score = models.GeneratedField(
        verbose_name="품질 점수",
        expression=Round(
            Cast(F("positive_feedback") + 1, models.DecimalField(max_digits=12, decimal_places=3))
            / Cast(
                F("positive_feedback") + F("negative_feedback") + 2,
                models.DecimalField(max_digits=12, decimal_places=3),
            ),
            3,
        ),
        output_field=models.DecimalField(max_digits=4, decimal_places=3),
        db_persist=True,
    )
    needs_reembedding = models.BooleanField("다시 임베딩 필요", default=False)
    reembedding_reason = models.CharField("다시 임베딩 이유", max_length=100, blank=True, default="")
    last_embedded_at = models.DateTimeField("마지막 임베딩 시각", null=True, blank=True)
    status = models.CharField(
        "상태", max_length=20, choices=RagEmbeddingStatus.choices, default=RagEmbeddingStatus.ACTIVE
    )
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now, help_text="BEFORE UPDATE 트리거가 갱신")

    class Meta:
        db_table = "ml_training_rag_embeddings_queue"
        ordering = ["-updated_at"]
        verbose_name = "RAG 임베딩 큐 항목"
        verbose_name_plural = "RAG 임베딩 큐"
        constraints = [
            models.CheckConstraint(
                condition=one_of("document_type", RagDocumentType.values), name="ml_rag_document_type_valid"
            ),
            models.CheckConstraint(condition=one_of("status", RagEmbeddingStatus.values), name="ml_rag_status_valid"),
            models.CheckConstraint(condition=between_0_and_1("relevance_score"), name="ml_rag_relevance_0_1"),
            models.CheckConstraint(
                condition=Q(
                    search_count__gte=0, click_count__gte=0, positive_feedback__gte=0, negative_feedback__gte=0
                ),
                name="ml_rag_counts_gte_0",
            ),
            # NULL-safe version of the seed's array_length(embedding_vector, 1) = embedding_dimension.
            models.CheckConstraint(
                condition=Q(embedding_vector__isnull=True) | Q(embedding_vector__len=F("embedding_dimension")),
                name="ml_rag_vector_dimension",
            ),
            models.UniqueConstraint(fields=["document_type", "document_id"], name="ml_rag_document_uniq"),
        ]
        indexes = [
            models.Index(F("quality_score").desc(), condition=Q(status="active"), name="ml_rag_quality_active"),
            models.Index(fields=["needs_reembedding"], condition=Q(needs_reembedding=True), name="ml_rag_reembed"),
        ]

    def __str__(self):
        return f"{self.document_type}:{self.document_id}"
