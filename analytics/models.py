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
    DINING = "dining", "식사 도우미"
    KNOWLEDGE = "knowledge", "지식 대화"
    PARTNER = "partner", "파트너 대화"
    OPENAI = "openai", "OpenAI 호환 API"


class LogOutboxRecord(models.Model):
    """A logged exchange waiting to be written into `MessageLog` and `ConversationHistory`.

    The transactional outbox: `record_exchange` INSERTs one row in the chat's own transaction (so
    the log lands exactly when the answer does, whatever Redis or the worker are doing), and
    `flush_log_outbox` drains the table in order. No index besides the primary key: the drain
    reads in id order, and every extra index would cost each chat turn.
    """

    record = models.JSONField("기록 내용", help_text="message_logs.build_record가 만든 주고받은 내용")
    created_at = models.DateTimeField("생성 시각", db_default=Now())
    attempts = models.SmallIntegerField(
        "시도 횟수", db_default=0, help_text="실패한 쓰기 횟수; 한도를 넘으면 다시 시도하지 않음"
    )
    last_error = models.TextField("마지막 오류", db_default="", blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "대기 중인 로그 기록"
        verbose_name_plural = "대기 중인 로그 기록"

    def __str__(self):
        return f"queued log #{self.pk}"


class MessageLog(models.Model):
    """One user or assistant message (seed 002 §3.1). Never sampled away: analytics needs every row."""

    class MessageType(models.TextChoices):
        USER = "user", "사용자"
        ASSISTANT = "assistant", "챗봇"

    log_id = models.UUIDField("로그 ID", default=uuid.uuid4, unique=True, editable=False)
    session_id = models.CharField("세션 ID", max_length=255)
    channel = models.CharField("채널", max_length=20, choices=Channel.choices)
    collection_name = models.CharField("컬렉션", max_length=255, help_text="RAG 키, 챗봇 이름 또는 파트너 ID")
    message_type = models.CharField("메시지 유형", max_length=10, choices=MessageType.choices)
    content = models.TextField("내용", blank=True)
    reasoning_level = models.CharField("추론 수준", max_length=10, blank=True, help_text="low | medium | high")
    llm_model = models.CharField("LLM 모델", max_length=200, blank=True)
    llm_params = models.JSONField("LLM 파라미터", default=dict, blank=True, help_text="temperature, max_tokens, top_p")
    retrieval_info = models.JSONField(
        "검색 정보", default=dict, blank=True, help_text="query, retrieved_count, reranking_used, top_scores"
    )
    performance = models.JSONField(
        "성능", default=dict, blank=True, help_text="response_time_ms, token_count, retrieval_time_ms"
    )
    error = models.TextField("오류", blank=True)
    regenerated = models.BooleanField("재생성됨", default=False, help_text="이 답변이 앞선 답변을 대신함")
    created_at = models.DateTimeField("생성 시각", default=timezone.now)

    class Meta:
        verbose_name = "메시지 기록"
        verbose_name_plural = "메시지 기록"
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
        HIGH = "high", "높음"
        MEDIUM = "medium", "보통"
        LOW = "low", "낮음"

    conversation_id = models.CharField("대화 ID", max_length=255, help_text="채팅의 세션 / 대화 ID")
    channel = models.CharField("채널", max_length=20, choices=Channel.choices)
    collection_name = models.CharField("컬렉션", max_length=255)
    user_hash = models.CharField(
        "사용자 해시", max_length=64, blank=True, help_text="sha256(사용자 ID + USER_HASH_SALT)"
    )
    messages = models.JSONField(
        "메시지", default=list, blank=True, help_text="[{role, content, retrieved_docs, timestamp}, ...]"
    )
    total_turns = models.IntegerField("전체 턴 수", default=0)
    is_sampled = models.BooleanField(
        "샘플로 보존", default=True, help_text="스마트 샘플링으로 보존; 샘플이 아닌 대화는 일찍 삭제됨"
    )
    retention_priority = models.CharField(
        "보존 우선순위", max_length=10, choices=RetentionPriority.choices, default=RetentionPriority.LOW
    )
    summary = models.TextField("요약", blank=True)
    has_error = models.BooleanField("오류 있음", default=False)
    regenerated = models.BooleanField("재생성됨", default=False)
    min_retrieval_score = models.FloatField("최저 검색 점수", null=True, blank=True)
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = "대화 이력"
        verbose_name_plural = "대화 이력"
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
        HOUR = "hour", "시간별"
        DAY = "day", "일별"

    period = models.CharField("집계 단위", max_length=4, choices=Period.choices)
    period_start = models.DateTimeField("집계 시작", help_text="시간/날의 시작 (TIME_ZONE 기준)")
    date = models.DateField("날짜")
    hour = models.SmallIntegerField("시", null=True, blank=True, help_text="시간별은 0-23, 일별은 비움")
    channel = models.CharField("채널", max_length=20, choices=Channel.choices)
    collection_name = models.CharField("컬렉션", max_length=255)
    total_queries = models.IntegerField("질문 수", default=0, help_text="답한 질문 수; 재생성은 새 질문이 아님")
    unique_sessions = models.IntegerField("세션 수", default=0)
    active_users = models.IntegerField(
        "활성 사용자 수", default=0, help_text="서로 다른 (해시한) 사용자 수; 익명 세션은 세지 않음"
    )
    avg_response_time_ms = models.FloatField("평균 응답 시간 (ms)", null=True, blank=True)
    p50_response_time_ms = models.FloatField("p50 응답 시간 (ms)", null=True, blank=True)
    p95_response_time_ms = models.FloatField("p95 응답 시간 (ms)", null=True, blank=True)
    p99_response_time_ms = models.FloatField("p99 응답 시간 (ms)", null=True, blank=True)
    response_count = models.IntegerField("응답 수", default=0, help_text="응답 시간을 알린 답변 수")
    response_time_sum_ms = models.FloatField("응답 시간 합계 (ms)", default=0)
    response_time_histogram = models.BinaryField(
        "응답 시간 히스토그램",
        default=b"",
        help_text="로그 간격 구간별 답변 수 (오차 1 %), big-endian int32; 비면 없음",
    )
    total_tokens = models.BigIntegerField("토큰 합계", default=0)
    error_count = models.IntegerField("오류 수", default=0, help_text="실패한 답변 수 (중단된 답변 제외)")
    partial_count = models.IntegerField("중단된 답변 수", default=0, help_text="클라이언트 연결이 끊겨 중단된 답변 수")
    regeneration_count = models.IntegerField("재생성 수", default=0)
    no_answer_count = models.IntegerField(
        "답 못 한 수", default=0, help_text="검색 결과가 없거나 no_answer로 표시된 답변 수"
    )
    scored_count = models.IntegerField("점수 있는 답변 수", default=0, help_text="검색 점수를 알린 답변 수")
    top_score_sum = models.FloatField("최고 검색 점수 합계", default=0)
    top_score_histogram = models.BinaryField(
        "최고 검색 점수 히스토그램",
        default=b"",
        help_text="최고 검색 점수 0.05 구간별 답변 수, big-endian int32; 비면 없음",
    )
    session_sketch = models.BinaryField(
        "세션 스케치 (HyperLogLog)", default=b"", help_text="세션의 HyperLogLog 레지스터"
    )
    user_sketch = models.BinaryField(
        "사용자 스케치 (HyperLogLog)", default=b"", help_text="사용자의 HyperLogLog 레지스터"
    )
    top_queries = models.JSONField("자주 묻는 질문", default=list, blank=True)
    computed_at = models.DateTimeField("계산 시각", default=timezone.now)

    class Meta:
        db_table = "chat_statistics"
        ordering = ["-period_start", "channel", "collection_name"]
        verbose_name = "대화 통계"
        verbose_name_plural = "대화 통계"
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

    name = models.CharField("이름", max_length=50, primary_key=True)
    last_log_id = models.BigIntegerField("마지막 로그 ID", default=0)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now)

    class Meta:
        verbose_name = "집계 워터마크"
        verbose_name_plural = "집계 워터마크"

    def __str__(self):
        return f"{self.name}: log #{self.last_log_id}"


class Dashboard(ChatStatistics):
    """No data of its own: gives the staff dashboard its admin index entry and URL
    (/admin/analytics/dashboard/, `analytics.admin.DashboardAdmin`)."""

    class Meta:
        proxy = True
        verbose_name = "대시보드"
        verbose_name_plural = "대시보드"


class FAQCandidate(models.Model):
    """A cluster of badly answered questions found by the daily knowledge-gap job (seed 002 Phase 6).

    Staff review it in admin: accept or reject it, then apply it as a curated answer (questions
    that match it above FAQ_MATCH_THRESHOLD are answered with `curated_answer` and its sources) or
    as a shared document in a chosen rag_key.
    """

    class Status(models.TextChoices):
        NEW = "new", "새 후보"
        ACCEPTED = "accepted", "채택"
        REJECTED = "rejected", "거절"
        APPLIED = "applied", "적용됨"

    collection_name = models.CharField("컬렉션", max_length=255, help_text="질문이 나온 RAG 키 / 컬렉션")
    channel = models.CharField("채널", max_length=20, choices=Channel.choices)
    representative = models.TextField("대표 질문", help_text="묶음에서 가장 자주 나온 질문")
    normalized = models.CharField(
        "정규화한 질문", max_length=500, help_text="대표 질문을 정규화한 것: 작업의 upsert 키"
    )
    question_count = models.IntegerField("질문 수", default=0)
    badness = models.FloatField("나쁨 정도", default=0, help_text="답변들의 이유 가중치 평균, 0..1")
    score = models.FloatField("점수", default=0, help_text="나쁨 정도 x 빈도: 검토 순서")
    reasons = models.JSONField("이유", default=dict, blank=True, help_text="이유별 답변 수 (no_answer, error, ...)")
    example_questions = models.JSONField("예시 질문", default=list, blank=True)
    retrieved_documents = models.JSONField(
        "검색된 문서", default=list, blank=True, help_text="그 질문들에 검색이 찾은 문서"
    )
    status = models.CharField("상태", max_length=10, choices=Status.choices, default=Status.NEW)
    curated_answer = models.TextField("큐레이션 답변", blank=True, help_text="적용하면 비슷한 질문에 주는 답")
    curated_sources = models.JSONField(
        "큐레이션 출처", default=list, blank=True, help_text="큐레이션 답변과 함께 보이는 출처"
    )
    shared_document_rag_key = models.CharField(
        "공유 문서 RAG 키", max_length=255, blank=True, help_text="공유 문서로 올린 RAG 키"
    )
    first_seen_at = models.DateTimeField("처음 본 시각", default=timezone.now)
    last_seen_at = models.DateTimeField("마지막으로 본 시각", default=timezone.now)

    class Meta:
        ordering = ["-score", "-last_seen_at"]
        verbose_name = "FAQ 후보"
        verbose_name_plural = "FAQ 후보"
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

    collection_name = models.CharField("컬렉션", max_length=255)
    day = models.DateField("날짜")
    markdown = models.TextField("Markdown 본문")
    html = models.TextField("HTML 본문")
    created_at = models.DateTimeField("생성 시각", default=timezone.now)

    class Meta:
        verbose_name = "컬렉션 일일 보고서"
        verbose_name_plural = "컬렉션 일일 보고서"
        ordering = ["-day", "collection_name"]
        constraints = [
            # One report per collection and day: writing it again replaces it.
            models.UniqueConstraint(fields=["collection_name", "day"], name="analytics_collectionreport_uniq"),
        ]

    def __str__(self):
        return f"{self.day} {self.collection_name}"
