"""Users' feedback on answers (seed 003 §8.3 "feedback", seed 002 quality) and the recommendation
feedback the recommender learns from (seed 003 §9.9)."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from chat.models import ChatUser, Conversation, KnowledgeMessage, Partner, PartnerChatTuningLog, RecommendationLog, Shop
from ml_training.models.choices import Channel, FeedbackVote, between_0_and_1, one_of


class AnswerFeedback(models.Model):
    """One voter's feedback on one answer; giving it again updates the same row.

    The answer is named by (source_table, source_id) like the queue's rows, with a foreign key to
    the row itself; `voter` is "user:<auth user id>" or "partner:<partner id>". A regeneration is
    stored as implicit negative feedback (`is_implicit`) on the answer it replaced; that answer's
    message is deleted by the regeneration, so the link is SET NULL and the row keeps the vote.
    """

    channel = models.CharField("채널", max_length=20, choices=Channel.choices)
    source_table = models.CharField("원본 테이블", max_length=100)
    source_id = models.CharField("원본 ID", max_length=100)
    voter = models.CharField("평가자", max_length=120)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="사용자",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    partner = models.ForeignKey(
        Partner, verbose_name="파트너", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, verbose_name="식사 대화", on_delete=models.CASCADE, null=True, blank=True, related_name="feedback"
    )
    knowledge_message = models.ForeignKey(
        KnowledgeMessage,
        verbose_name="지식 대화 메시지",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="feedback",
    )
    partner_session = models.ForeignKey(
        PartnerChatTuningLog,
        verbose_name="파트너 세션",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="feedback",
    )
    vote = models.CharField("투표", max_length=4, choices=FeedbackVote.choices, blank=True, default="")
    rating = models.SmallIntegerField("평점", null=True, blank=True, help_text="1-5")
    comment = models.TextField("의견", blank=True, default="", help_text="개인정보 가림")
    helpful_source = models.JSONField(
        "도움 된 출처", null=True, blank=True, help_text="도움 된 {document_id, chunk_id}"
    )
    is_implicit = models.BooleanField(
        "암묵적 피드백", default=False, help_text="사용자가 준 것이 아니라 추정함 (재생성)"
    )
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    updated_at = models.DateTimeField("수정 시각", default=timezone.now)

    class Meta:
        db_table = "ml_training_answer_feedback"
        ordering = ["-updated_at"]
        verbose_name = "답변 피드백"
        verbose_name_plural = "답변 피드백"
        constraints = [
            models.CheckConstraint(condition=one_of("channel", Channel.values), name="ml_feedback_channel_valid"),
            models.CheckConstraint(
                condition=one_of("vote", FeedbackVote.values, blank=True), name="ml_feedback_vote_valid"
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="ml_feedback_rating_1_5"
            ),
            models.CheckConstraint(
                condition=~Q(vote="") | Q(rating__isnull=False) | ~Q(comment="") | Q(helpful_source__isnull=False),
                name="ml_feedback_not_empty",
            ),
            models.UniqueConstraint(fields=["source_table", "source_id", "voter"], name="ml_feedback_one_per_voter"),
        ]
        indexes = [models.Index(F("created_at").desc(), name="ml_feedback_created_desc")]

    def __str__(self):
        return f"{self.channel} {self.source_table}:{self.source_id} {self.vote or self.rating}"

    @property
    def is_negative(self) -> bool:
        return self.vote == FeedbackVote.DOWN or (self.rating is not None and self.rating <= 2)


class UserAction(models.TextChoices):
    VIEWED = "viewed", "조회"
    CLICKED = "clicked", "클릭"
    SELECTED = "selected", "선택"
    IGNORED = "ignored", "무시"
    SCROLLED_PAST = "scrolled_past", "스크롤로 지나침"


class RecommendationFeedback(models.Model):
    """What a user did with one recommendation, with the context and user features at that time."""

    recommendation_log = models.ForeignKey(
        RecommendationLog,
        verbose_name="추천 기록",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="training_feedback",
    )
    user = models.ForeignKey(ChatUser, verbose_name="사용자", on_delete=models.CASCADE, related_name="+")
    session_id = models.UUIDField("세션 ID")
    recommended_shops = models.JSONField(
        "추천한 가게", help_text="보여 준 그대로: [{shop_id, rank, score, reason_codes, features}]"
    )
    user_action = models.CharField("사용자 행동", max_length=50, choices=UserAction.choices)
    # PROTECT: SET NULL would break the action-consistency CHECK; a chosen shop is closed, not deleted.
    selected_shop = models.ForeignKey(
        Shop, verbose_name="선택한 가게", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action_timestamp = models.DateTimeField("행동 시각")
    time_to_action_ms = models.IntegerField("행동까지 걸린 시간 (ms)", null=True, blank=True)
    interaction_details = models.JSONField("상호작용 상세", null=True, blank=True)
    context_features = models.JSONField("맥락 특징")
    user_features = models.JSONField("사용자 특징")
    explicit_rating = models.SmallIntegerField("명시적 평점", null=True, blank=True)
    implicit_satisfaction = models.DecimalField("암묵적 만족도", max_digits=4, decimal_places=3, null=True, blank=True)
    learning_value = models.DecimalField("학습 가치", max_digits=4, decimal_places=3, null=True, blank=True)
    is_outlier = models.BooleanField("이상치", default=False)
    created_at = models.DateTimeField("생성 시각", default=timezone.now)
    device_type = models.CharField("기기 유형", max_length=50, blank=True, default="")
    app_version = models.CharField("앱 버전", max_length=20, blank=True, default="")

    class Meta:
        db_table = "ml_training_recommendation_feedback"
        ordering = ["-created_at"]
        verbose_name = "추천 피드백"
        verbose_name_plural = "추천 피드백"
        constraints = [
            models.CheckConstraint(condition=one_of("user_action", UserAction.values), name="ml_recfb_action_valid"),
            models.CheckConstraint(
                condition=Q(explicit_rating__isnull=True) | Q(explicit_rating__gte=1, explicit_rating__lte=5),
                name="ml_recfb_rating_1_5",
            ),
            models.CheckConstraint(
                condition=between_0_and_1("implicit_satisfaction"), name="ml_recfb_satisfaction_0_1"
            ),
            models.CheckConstraint(condition=between_0_and_1("learning_value"), name="ml_recfb_learning_value_0_1"),
            models.CheckConstraint(
                condition=Q(time_to_action_ms__isnull=True) | Q(time_to_action_ms__gte=0), name="ml_recfb_time_gte_0"
            ),
            # A selection names the shop; other actions name none (seed: action consistency).
            models.CheckConstraint(
                condition=Q(user_action="selected", selected_shop__isnull=False)
                | ~Q(user_action="selected") & Q(selected_shop__isnull=True),
                name="ml_recfb_action_consistency",
            ),
            # One selection per recommendation: 50 concurrent selections store one.
            models.UniqueConstraint(
                fields=["recommendation_log"], condition=Q(user_action="selected"), name="ml_recfb_one_selection"
            ),
            # One click row per shop of a recommendation: an opened card sent again (or twice at once) stays one.
            models.UniqueConstraint(
                F("recommendation_log"),
                KeyTextTransform("shop_id", "interaction_details"),
                condition=Q(user_action="clicked"),
                name="ml_recfb_one_click_per_shop",
            ),
        ]
        indexes = [
            models.Index(F("user"), F("created_at").desc(), name="ml_recfb_user_created"),
            models.Index(fields=["user_action", "selected_shop"], name="ml_recfb_action_shop"),
            models.Index(F("learning_value").desc(), condition=Q(learning_value__gt=0.5), name="ml_recfb_learning"),
            # Feature containment queries of the trainer (context_features @> ..., user_features @> ...).
            GinIndex(fields=["context_features", "user_features"], name="ml_recfb_features_gin"),
        ]

    def __str__(self):
        return f"{self.user_action} on recommendation {self.recommendation_log_id}"


class UserLearningData(models.Model):
    """Per chat user: how much learning data they produced (seed 003 §8.4 data-completeness score)
    and how many of their sessions are worth training on (§8.2 session value). Recomputed by the
    daily preparation for users active that day."""

    user = models.OneToOneField(ChatUser, verbose_name="사용자", on_delete=models.CASCADE, related_name="learning_data")
    nlu_features = models.IntegerField("NLU 데이터 수", default=0, help_text="NLU 큐 행 수 (5 필요)")
    interactions = models.IntegerField("대화 수", default=0, help_text="식사 대화 턴 수 (3 필요)")
    recommendations = models.IntegerField("받은 추천 수", default=0, help_text="받은 추천 수 (2 필요)")
    feedback = models.IntegerField("피드백 수", default=0, help_text="준 피드백: 투표, 평점, 선택 (1 필요)")
    data_completeness = models.DecimalField("데이터 완성도", max_digits=4, decimal_places=3, default=0)
    sessions = models.IntegerField("세션 수", default=0)
    valuable_sessions = models.IntegerField(
        "가치 있는 세션 수", default=0, help_text="2턴 이상, 평균 품질 0.5 이상, 추천 있음"
    )
    updated_at = models.DateTimeField("수정 시각", default=timezone.now)

    class Meta:
        db_table = "ml_training_user_learning_data"
        ordering = ["-data_completeness"]
        verbose_name = "사용자 학습 데이터"
        verbose_name_plural = "사용자 학습 데이터"
        constraints = [
            models.CheckConstraint(condition=between_0_and_1("data_completeness"), name="ml_userdata_completeness_0_1")
        ]

    def __str__(self):
        return f"learning data of {self.user_id}: {self.data_completeness}"
