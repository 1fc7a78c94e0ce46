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

    model_type = models.CharField(max_length=50, choices=ModelType.choices)
    raw_data = models.JSONField(help_text="The sample as collected (personal data masked)")
    processed_data = models.JSONField(null=True, blank=True, help_text="Prepared for training")
    quality_score = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    validation_errors = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=QueueStatus.choices, default=QueueStatus.PENDING)
    error_message = models.TextField(blank=True, default="")
    retry_count = models.IntegerField(default=0)
    source_table = models.CharField(max_length=100, help_text="conversations, recommendations_log, …")
    source_id = models.CharField(max_length=100, help_text="Primary key of the source row (or session:turn)")
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.DINING)
    user = models.ForeignKey(ChatUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    session_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True, help_text="Set by a trigger when it becomes ready")
    trained_at = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(default=0, help_text="0-100, higher first (review items 80-95)")
    # The review workflow (not in the seed): why a human should look, and the label they gave.
    review_reason = models.CharField(max_length=30, choices=ReviewReason.choices, blank=True, default="")
    label_intent = models.CharField(
        "true intent", max_length=50, choices=Intent.choices, blank=True, default="", help_text="Set by the reviewer"
    )
    label_entities = models.JSONField("true entities", null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        db_table = "ml_training_data_queue"
        ordering = ["-priority", "created_at"]
        verbose_name = "training data queue item"
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
        verbose_name = "review item"


class RagDocumentType(models.TextChoices):
    SHOP = "shop"
    MENU = "menu"
    REVIEW = "review"
    FAQ = "faq"
    NOTICE = "notice"
    DOCUMENT = "document", "document (knowledge base)"


class RagEmbeddingStatus(models.TextChoices):
    ACTIVE = "active"
    PENDING = "pending"
    PROCESSING = "processing"
    INACTIVE = "inactive"
    ERROR = "error"


class RagEmbeddingQueueItem(models.Model):
    """How one document performs in retrieval and whether it needs re-embedding (seed 003 §9.8).

    `quality_score` is smoothed, (positive + 1) / (positive + negative + 2): one vote moves it from
    0.5 to 0.667 or 0.333 instead of flipping it to 1 or 0 as the seed's ratio would.
    """

    document_id = models.CharField(max_length=100, help_text="rag Document primary key, shop_123, menu_456, …")
    document_type = models.CharField(max_length=50, choices=RagDocumentType.choices)
    title = models.CharField(max_length=500, blank=True, default="")
    content = models.TextField()
    content_hash = models.CharField(max_length=64, blank=True, default="", help_text="sha256 of content when embedded")
    metadata = models.JSONField(null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True, default="")
    embedding_vector = ArrayField(models.FloatField(), null=True, blank=True)
    embedding_dimension = models.IntegerField(null=True, blank=True)
    search_count = models.IntegerField(default=0)
    click_count = models.IntegerField(default=0, help_text="Times a user marked it as the source that helped")
    relevance_score = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    positive_feedback = models.IntegerField(default=0)
    negative_feedback = models.IntegerField(default=0)
    quality_score = models.GeneratedField(
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
    needs_reembedding = models.BooleanField(default=False)
    reembedding_reason = models.CharField(max_length=100, blank=True, default="")
    last_embedded_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=RagEmbeddingStatus.choices, default=RagEmbeddingStatus.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now, help_text="Kept current by a BEFORE UPDATE trigger")

    class Meta:
        db_table = "ml_training_rag_embeddings_queue"
        ordering = ["-updated_at"]
        verbose_name = "RAG embedding queue item"
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
