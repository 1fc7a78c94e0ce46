"""Users' feedback on answers (seed 003 §8.3 "feedback", seed 002 quality) and the recommendation
feedback the recommender learns from (seed 003 §9.9)."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
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

    channel = models.CharField(max_length=20, choices=Channel.choices)
    source_table = models.CharField(max_length=100)
    source_id = models.CharField(max_length=100)
    voter = models.CharField(max_length=120)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, null=True, blank=True, related_name="feedback"
    )
    knowledge_message = models.ForeignKey(
        KnowledgeMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback"
    )
    partner_session = models.ForeignKey(
        PartnerChatTuningLog, on_delete=models.CASCADE, null=True, blank=True, related_name="feedback"
    )
    vote = models.CharField(max_length=4, choices=FeedbackVote.choices, blank=True, default="")
    rating = models.SmallIntegerField(null=True, blank=True, help_text="1-5")
    comment = models.TextField(blank=True, default="", help_text="Masked")
    helpful_source = models.JSONField(null=True, blank=True, help_text="{document_id, chunk_id} that helped")
    is_implicit = models.BooleanField(default=False, help_text="Inferred (a regeneration), not given")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ml_training_answer_feedback"
        ordering = ["-updated_at"]
        verbose_name = "answer feedback"
        verbose_name_plural = "answer feedback"
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
    VIEWED = "viewed"
    CLICKED = "clicked"
    SELECTED = "selected"
    IGNORED = "ignored"
    SCROLLED_PAST = "scrolled_past"


class RecommendationFeedback(models.Model):
    """What a user did with one recommendation, with the context and user features at that time."""

    recommendation_log = models.ForeignKey(
        RecommendationLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="training_feedback"
    )
    user = models.ForeignKey(ChatUser, on_delete=models.CASCADE, related_name="+")
    session_id = models.UUIDField()
    recommended_shops = models.JSONField(help_text="[{shop_id, rank, score, reason_codes, features}] as shown")
    user_action = models.CharField(max_length=50, choices=UserAction.choices)
    # PROTECT: SET NULL would break the action-consistency CHECK; a chosen shop is closed, not deleted.
    selected_shop = models.ForeignKey(Shop, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action_timestamp = models.DateTimeField()
    time_to_action_ms = models.IntegerField(null=True, blank=True)
    interaction_details = models.JSONField(null=True, blank=True)
    context_features = models.JSONField()
    user_features = models.JSONField()
    explicit_rating = models.SmallIntegerField(null=True, blank=True)
    implicit_satisfaction = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    learning_value = models.DecimalField(max_digits=4, decimal_places=3, null=True, blank=True)
    is_outlier = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    device_type = models.CharField(max_length=50, blank=True, default="")
    app_version = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        db_table = "ml_training_recommendation_feedback"
        ordering = ["-created_at"]
        verbose_name = "recommendation feedback"
        verbose_name_plural = "recommendation feedback"
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

    user = models.OneToOneField(ChatUser, on_delete=models.CASCADE, related_name="learning_data")
    nlu_features = models.IntegerField(default=0, help_text="nlu queue rows (need 5)")
    interactions = models.IntegerField(default=0, help_text="dining turns (need 3)")
    recommendations = models.IntegerField(default=0, help_text="recommendations received (need 2)")
    feedback = models.IntegerField(default=0, help_text="feedback given: votes, ratings, selections (need 1)")
    data_completeness = models.DecimalField(max_digits=4, decimal_places=3, default=0)
    sessions = models.IntegerField(default=0)
    valuable_sessions = models.IntegerField(default=0, help_text="≥ 2 turns, mean quality ≥ 0.5, a recommendation")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "ml_training_user_learning_data"
        ordering = ["-data_completeness"]
        verbose_name = "user learning data"
        verbose_name_plural = "user learning data"
        constraints = [
            models.CheckConstraint(condition=between_0_and_1("data_completeness"), name="ml_userdata_completeness_0_1")
        ]

    def __str__(self):
        return f"learning data of {self.user_id}: {self.data_completeness}"
