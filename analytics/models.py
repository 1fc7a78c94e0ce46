"""Message-level chat logs, conversation history and usage statistics (seed 002 §3).

Every chat channel logs through `analytics.services.message_logs.record_exchange`, which queues
one `LogOutboxRecord` per exchange in the chat's own transaction; the worker's flush turns it into
one `MessageLog` row per user and assistant message (always kept) and one `ConversationHistory`
row per conversation (smart-sampled: `is_sampled` decides how long it is retained).
"""

import uuid

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


class Channel(models.TextChoices):
    DINING = "dining", "Dining chat"
    KNOWLEDGE = "knowledge", "Knowledge chat"
    PARTNER = "partner", "Partner chat"
    OPENAI = "openai", "OpenAI-compatible API"


class LogOutboxRecord(models.Model):
    """A logged exchange waiting to be written into `MessageLog` and `ConversationHistory`.

    The transactional outbox: `record_exchange` INSERTs one row in the chat's own transaction (so
    the log lands exactly when the answer does, whatever Redis or the worker are doing), and
    `flush_log_outbox` drains the table in order. No index besides the primary key: the drain
    reads in id order, and every extra index would cost each chat turn.
    """

    record = models.JSONField(help_text="the exchange as built by message_logs.build_record")
    created_at = models.DateTimeField(db_default=Now())
    attempts = models.SmallIntegerField(db_default=0, help_text="failed writes; none is tried again after the limit")
    last_error = models.TextField(db_default="", blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "queued log record"

    def __str__(self):
        return f"queued log #{self.pk}"


class MessageLog(models.Model):
    """One user or assistant message (seed 002 §3.1). Never sampled away: analytics needs every row."""

    class MessageType(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    log_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session_id = models.CharField(max_length=255)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    collection_name = models.CharField(max_length=255, help_text="rag_key, chatbot name or partner id")
    message_type = models.CharField(max_length=10, choices=MessageType.choices)
    content = models.TextField(blank=True)
    reasoning_level = models.CharField(max_length=10, blank=True, help_text="low | medium | high")
    llm_model = models.CharField(max_length=200, blank=True)
    llm_params = models.JSONField(default=dict, blank=True, help_text="temperature, max_tokens, top_p")
    retrieval_info = models.JSONField(
        default=dict, blank=True, help_text="query, retrieved_count, reranking_used, top_scores"
    )
    performance = models.JSONField(
        default=dict, blank=True, help_text="response_time_ms, token_count, retrieval_time_ms"
    )
    error = models.TextField(blank=True)
    regenerated = models.BooleanField(default=False, help_text="the assistant answer replaced an earlier one")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(message_type__in=["user", "assistant"]),
                name="analytics_messagelog_message_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values),
                name="analytics_messagelog_channel_valid",
            ),
        ]
        indexes = [
            # Staff list and hourly/daily aggregation: WHERE collection_name = ? AND created_at range.
            models.Index(fields=["collection_name", "created_at"], name="analytics_log_coll_created"),
            # Aggregation windows over all collections, newest-first listing.
            models.Index(fields=["created_at"], name="analytics_log_created"),
            # One conversation's messages in order.
            models.Index(fields=["session_id", "created_at"], name="analytics_log_session_created"),
            models.Index(fields=["channel", "created_at"], name="analytics_log_channel_created"),
            # has_error=true filter: errors are rare, a partial index stays tiny.
            models.Index(fields=["created_at"], condition=~models.Q(error=""), name="analytics_log_errors_created"),
        ]

    def __str__(self):
        return f"{self.channel}/{self.collection_name}/{self.session_id} {self.message_type}"


class ConversationHistory(models.Model):
    """A whole conversation, Claude/ChatGPT style (seed 002 §3.2), written in one atomic UPSERT per turn.

    No GIN index on `messages`: every turn rewrites the array, and a GIN index over it would
    re-index the whole conversation on each append; staff text search scans instead.

    The seed's `metadata` object (total_turns, is_sampled, retention_priority, summary) is stored as
    real columns so that staff can filter on them; `metadata` rebuilds the seed's shape.
    """

    class RetentionPriority(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    conversation_id = models.CharField(max_length=255, help_text="the chat's session / conversation id")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    collection_name = models.CharField(max_length=255)
    user_hash = models.CharField(max_length=64, blank=True, help_text="sha256(user id + USER_HASH_SALT)")
    messages = models.JSONField(default=list, blank=True, help_text="[{role, content, retrieved_docs, timestamp}, ...]")
    total_turns = models.IntegerField(default=0)
    is_sampled = models.BooleanField(
        default=True, help_text="kept by smart sampling; unsampled conversations are deleted early"
    )
    retention_priority = models.CharField(
        max_length=10, choices=RetentionPriority.choices, default=RetentionPriority.LOW
    )
    summary = models.TextField(blank=True)
    has_error = models.BooleanField(default=False)
    regenerated = models.BooleanField(default=False)
    min_retrieval_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "conversation histories"
        constraints = [
            # The ON CONFLICT target of record_exchange's UPSERT.
            models.UniqueConstraint(
                fields=["channel", "collection_name", "conversation_id"],
                name="analytics_conversationhistory_conversation_uniq",
            ),
            models.CheckConstraint(
                condition=models.Q(total_turns__gte=0), name="analytics_conversationhistory_total_turns_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(retention_priority__in=["high", "medium", "low"]),
                name="analytics_conversationhistory_retention_priority_valid",
            ),
        ]
        indexes = [
            # Staff list: WHERE collection_name = ? ORDER BY updated_at DESC.
            models.Index(fields=["collection_name", "-updated_at"], name="analytics_conv_coll_updated"),
            # Staff list without a collection, date-range filters, retention scans by age.
            models.Index(fields=["-updated_at"], name="analytics_conv_updated"),
            # Staff filters has_error=true / regenerated=true (rare, so partial).
            models.Index(fields=["-updated_at"], condition=models.Q(has_error=True), name="analytics_conv_errors"),
            models.Index(
                fields=["-updated_at"], condition=models.Q(regenerated=True), name="analytics_conv_regenerated"
            ),
            # "All conversations of this (hashed) user".
            models.Index(fields=["user_hash"], name="analytics_conv_user_hash"),
        ]

    def __str__(self):
        return f"{self.channel}/{self.collection_name}/{self.conversation_id}"

    @property
    def metadata(self) -> dict:
        return {
            "total_turns": self.total_turns,
            "is_sampled": self.is_sampled,
            "retention_priority": self.retention_priority,
            "summary": self.summary,
        }


class ChatStatistics(models.Model):
    """Hourly or daily rollup per channel and collection (seed 002 §3.3, table chat_statistics).

    Counts and sums are exact; response times are a mergeable histogram
    (`analytics.services.histogram`), so the percentiles of any range are read from the merged
    counts. The p50/p95/p99 columns are the row's own, for the seed's record shape. Distinct
    sessions and users are exact per row and kept as HyperLogLog sketches (`analytics.services.hll`)
    for ranges of rows.
    Written by `analytics.services.statistics.roll_up` (never by hand).
    """

    class Period(models.TextChoices):
        HOUR = "hour", "Hourly"
        DAY = "day", "Daily"

    period = models.CharField(max_length=4, choices=Period.choices)
    period_start = models.DateTimeField(help_text="start of the hour/day (in TIME_ZONE)")
    date = models.DateField()
    hour = models.SmallIntegerField(null=True, blank=True, help_text="0-23 for hourly rows, empty for daily")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    collection_name = models.CharField(max_length=255)
    total_queries = models.IntegerField(default=0, help_text="answered questions; a regeneration is not a new one")
    unique_sessions = models.IntegerField(default=0)
    active_users = models.IntegerField(default=0, help_text="distinct hashed users (anonymous sessions not counted)")
    avg_response_time_ms = models.FloatField(null=True, blank=True)
    p50_response_time_ms = models.FloatField(null=True, blank=True)
    p95_response_time_ms = models.FloatField(null=True, blank=True)
    p99_response_time_ms = models.FloatField(null=True, blank=True)
    response_count = models.IntegerField(default=0, help_text="answers that reported a response time")
    response_time_sum_ms = models.FloatField(default=0)
    response_time_histogram = models.BinaryField(
        default=b"", help_text="answers per log-spaced bucket (1 % error), big-endian int32; empty: none"
    )
    total_tokens = models.BigIntegerField(default=0)
    error_count = models.IntegerField(default=0, help_text="failed answers (partial answers not included)")
    partial_count = models.IntegerField(default=0, help_text="answers cut short by a client disconnect")
    regeneration_count = models.IntegerField(default=0)
    no_answer_count = models.IntegerField(default=0, help_text="answers with nothing retrieved or flagged no_answer")
    scored_count = models.IntegerField(default=0, help_text="answers that reported retrieval scores")
    top_score_sum = models.FloatField(default=0)
    top_score_histogram = models.BinaryField(
        default=b"", help_text="answers per 0.05 wide top-retrieval-score bucket, big-endian int32; empty: none"
    )
    session_sketch = models.BinaryField(default=b"", help_text="HyperLogLog registers of the sessions")
    user_sketch = models.BinaryField(default=b"", help_text="HyperLogLog registers of the users")
    top_queries = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chat_statistics"
        ordering = ["-period_start", "channel", "collection_name"]
        verbose_name_plural = "chat statistics"
        constraints = [
            # The ON CONFLICT target of the aggregation UPSERT (re-running a period overwrites it).
            models.UniqueConstraint(
                fields=["period", "period_start", "channel", "collection_name"],
                name="analytics_chatstatistics_period_uniq",
            ),
            models.CheckConstraint(
                condition=(models.Q(period="hour", hour__gte=0, hour__lte=23) | models.Q(period="day", hour=None)),
                name="analytics_chatstatistics_hour_matches_period",
            ),
        ]
        indexes = [
            # GET /analytics/stats?collection=...&period=...: WHERE collection_name = ? AND period = ? by date.
            models.Index(fields=["collection_name", "period", "-period_start"], name="analytics_stats_coll_period"),
        ]

    def __str__(self):
        start = timezone.localtime(self.period_start)
        return f"{self.period} {start:%Y-%m-%d %H:00} {self.channel}/{self.collection_name}"

    @property
    def error_rate(self) -> float:
        return self.error_count / self.total_queries if self.total_queries else 0.0


class RollupWatermark(models.Model):
    """How far the rollup has read the message logs: every log with id <= last_log_id is in a rollup.

    Ids are only handed out by the (single, advisory-locked) log flush, so a log id below the
    watermark can never show up later: late logs and hours missed while the worker was down all
    have ids above it and are rolled up by the next run.
    """

    name = models.CharField(max_length=50, primary_key=True)
    last_log_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name}: log #{self.last_log_id}"


class Dashboard(ChatStatistics):
    """No data of its own: gives the staff dashboard its admin index entry and URL
    (/admin/analytics/dashboard/, `analytics.admin.DashboardAdmin`)."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"


class FAQCandidate(models.Model):
    """A cluster of badly answered questions found by the daily knowledge-gap job (seed 002 Phase 6).

    Staff review it in admin: accept or reject it, then apply it as a curated answer (questions
    that match it above FAQ_MATCH_THRESHOLD are answered with `curated_answer` and its sources) or
    as a shared document in a chosen rag_key.
    """

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        APPLIED = "applied", "Applied"

    collection_name = models.CharField(max_length=255, help_text="rag_key / collection the questions were asked in")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    representative = models.TextField(help_text="the question asked most often in the cluster")
    normalized = models.CharField(max_length=500, help_text="the representative normalised: the job's upsert key")
    question_count = models.IntegerField(default=0)
    badness = models.FloatField(default=0, help_text="mean reason weight of its answers, 0..1")
    score = models.FloatField(default=0, help_text="badness x frequency: the review order")
    reasons = models.JSONField(default=dict, blank=True, help_text="answers per reason (no_answer, error, ...)")
    example_questions = models.JSONField(default=list, blank=True)
    retrieved_documents = models.JSONField(default=list, blank=True, help_text="what retrieval found for them")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    curated_answer = models.TextField(blank=True, help_text="the answer given to matching questions once applied")
    curated_sources = models.JSONField(default=list, blank=True, help_text="sources shown with the curated answer")
    shared_document_rag_key = models.CharField(max_length=255, blank=True, help_text="rag_key it was published to")
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score", "-last_seen_at"]
        verbose_name = "FAQ candidate"
        constraints = [
            # The daily job's upsert key: the same cluster found again updates its candidate.
            models.UniqueConstraint(fields=["collection_name", "normalized"], name="analytics_faqcandidate_uniq"),
            models.CheckConstraint(
                condition=models.Q(status__in=["new", "accepted", "rejected", "applied"]),
                name="analytics_faqcandidate_status_valid",
            ),
        ]
        indexes = [
            # The curated-answer lookup of each knowledge-chat turn: WHERE collection_name = ? AND status = 'applied'.
            models.Index(
                fields=["collection_name"], condition=models.Q(status="applied"), name="analytics_faq_applied"
            ),
        ]

    def __str__(self):
        return f"{self.collection_name}: {self.representative[:60]}"


class CollectionReport(models.Model):
    """The daily report of one collection (seed 002 Phase 6), kept as Markdown and HTML for staff."""

    collection_name = models.CharField(max_length=255)
    day = models.DateField()
    markdown = models.TextField()
    html = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "collection_name"]
        constraints = [
            # One report per collection and day: writing it again replaces it.
            models.UniqueConstraint(fields=["collection_name", "day"], name="analytics_collectionreport_uniq"),
        ]

    def __str__(self):
        return f"{self.day} {self.collection_name}"
