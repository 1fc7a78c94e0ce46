"""Admin of the learning data. The page staff use every day is **Review queue**: low-confidence,
UNKNOWN, negatively rated and regenerated turns, highest priority first, 50 to a page; pick the
true intent in each row's select (Tab moves to the next row) and press Save once, or open an item to
correct its entities too, or confirm the predictions of the selected items with the bulk action."""

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, OuterRef, Subquery, UUIDField, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, JSONObject

from chat.admin_dining import IntentFilter
from chat.models import Conversation, Intent, Shop
from config.admin_tools import ReadOnlyAdmin, pretty_json
from ml_training.models import (
    AnswerFeedback,
    DataQueueItem,
    NluTrainingData,
    PerformanceMetric,
    RagEmbeddingQueueItem,
    RecommendationFeedback,
    ReviewItem,
    ReviewReason,
    UserAction,
    UserLearningData,
)
from ml_training.services import review
from ml_training.services.masking import mask_text


def intent_label(code) -> str:
    """The Korean label of an intent code kept in JSON (an unknown code as it is)."""
    return Intent(code).label if code in Intent.values else (code or "—")


def short(text, length: int = 60) -> str:
    text = text or ""
    return text if len(text) <= length else text[: length - 1] + "…"


class ReviewStateFilter(admin.SimpleListFilter):
    """Open items by default: the queue is what is left to do."""

    title = "검토 상태"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "검토 대기"), ("reviewed", "검토함"), ("all", "전체")]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(reviewed_at__isnull=True)
        if self.value() == "reviewed":
            return queryset.filter(reviewed_at__isnull=False)
        return queryset


class PredictedIntentFilter(IntentFilter):
    title = "예측 의도"
    field = "raw_data__intent"


CONFIDENCE_BANDS = {"<0.3": (0, 0.3), "0.3-0.5": (0.3, 0.5), "0.5-0.7": (0.5, 0.7), ">0.7": (0.7, 1.01)}


class ConfidenceBandFilter(admin.SimpleListFilter):
    title = "신뢰도"
    parameter_name = "confidence"

    def lookups(self, request, model_admin):
        return [(band, band) for band in CONFIDENCE_BANDS]

    def queryset(self, request, queryset):
        if self.value() not in CONFIDENCE_BANDS:
            return queryset
        low, high = CONFIDENCE_BANDS[self.value()]
        return queryset.filter(raw_data__confidence__gte=low, raw_data__confidence__lt=high)


class FeedbackFilter(admin.SimpleListFilter):
    title = "피드백"
    parameter_name = "feedback"

    def lookups(self, request, model_admin):
        return [("negative", "부정 (👎, 1-2점, 재생성)"), ("none", "부정 피드백 없음")]

    def queryset(self, request, queryset):
        negative = [ReviewReason.NEGATIVE_FEEDBACK, ReviewReason.REGENERATED]
        if self.value() == "negative":
            return queryset.filter(review_reason__in=negative)
        if self.value() == "none":
            return queryset.exclude(review_reason__in=negative)
        return queryset


class ReviewItemForm(forms.ModelForm):
    label_entities = forms.JSONField(
        required=False, label="정답 엔티티", help_text="비워 두면 예측한 엔티티를 그대로 씁니다."
    )

    class Meta:
        model = ReviewItem
        fields = ["label_intent", "label_entities"]

    def clean_label_intent(self):
        intent = self.cleaned_data["label_intent"]
        if not intent:
            raise forms.ValidationError("정답 의도를 고르세요.")
        return intent


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin):
    list_display = [
        "priority",
        "review_reason",
        "channel",
        "message",
        "previous_turn",
        "predicted",
        "entities",
        "answer",
        "feedback",
        "created_at",
        "label_intent",
    ]
    list_display_links = ["message"]
    list_editable = ["label_intent"]
    list_filter = [
        ReviewStateFilter,
        PredictedIntentFilter,
        ConfidenceBandFilter,
        FeedbackFilter,
        "review_reason",
        "channel",
        ("created_at", admin.DateFieldListFilter),
    ]
    list_per_page = 50
    show_full_result_count = False
    search_fields = ["raw_data__input_text"]
    form = ReviewItemForm
    fields = [
        "message_full",
        "previous_turn",
        "predicted",
        "entities_full",
        "answer_full",
        "feedback",
        "turn_quality",
        "label_intent",
        "label_entities",
    ]
    readonly_fields = [
        "message_full",
        "previous_turn",
        "predicted",
        "entities_full",
        "answer_full",
        "feedback",
        "turn_quality",
    ]
    actions = ["confirm_predictions"]

    def get_queryset(self, request):
        previous = Conversation.objects.filter(
            session_id=OuterRef("dining_session"), conversation_turn=OuterRef("turn_number") - 1
        ).order_by("-id")
        return (
            super()
            .get_queryset(request)
            .exclude(review_reason="")
            .annotate(
                # Only dining session ids are UUIDs; CASE keeps the cast away from the others.
                dining_session=Case(When(channel="dining", then=Cast("session_id", UUIDField()))),
                turn_number=Cast(KT("raw_data__conversation_turn"), IntegerField()),
            )
            .annotate(
                previous_text=Subquery(previous.values("input_text")[:1]),
                previous_intent=Subquery(previous.values("extracted_intent")[:1]),
            )
            .annotate(
                latest_feedback=Subquery(
                    AnswerFeedback.objects.filter(
                        source_table=OuterRef("source_table"), source_id=OuterRef("source_id")
                    )
                    .order_by("-updated_at")
                    .values(json=JSONObject(vote="vote", rating="rating", comment="comment", implicit="is_implicit"))[
                        :1
                    ]
                )
            )
        )

    def has_add_permission(self, request):
        return False  # items come from the chats

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """A chosen intent (in the list or the form) becomes the item's label."""
        if obj.label_intent and obj.reviewed_at is None:
            entities = form.cleaned_data.get("label_entities") if "label_entities" in form.cleaned_data else None
            review.label_item(obj.pk, intent=obj.label_intent, entities=entities or None, reviewer=request.user)

    @admin.action(description="선택한 항목의 예측 의도를 정답으로 확정")
    def confirm_predictions(self, request, queryset):
        labelled, skipped = review.confirm_predictions(queryset, reviewer=request.user)
        skipped_note = f" {skipped}개는 건너뛰었습니다 (이미 검토했거나 예측 의도가 없음)." if skipped else ""
        if labelled:
            self.message_user(request, f"{labelled}개를 확정했습니다.{skipped_note}", messages.SUCCESS)
        else:
            self.message_user(request, f"확정한 항목이 없습니다.{skipped_note}", messages.WARNING)

    @admin.display(description="메시지")
    def message(self, obj):
        return short(obj.raw_data.get("input_text"))

    @admin.display(description="메시지")
    def message_full(self, obj):
        return obj.raw_data.get("input_text", "")

    @admin.display(description="이전 턴")
    def previous_turn(self, obj):
        text = getattr(obj, "previous_text", None)
        return f"{short(mask_text(text), 40)} ({intent_label(obj.previous_intent)})" if text else "—"

    @admin.display(description="예측 (신뢰도)")
    def predicted(self, obj):
        intent = intent_label(obj.raw_data.get("intent"))
        confidence = obj.raw_data.get("confidence")
        return f"{intent} ({confidence:.2f})" if isinstance(confidence, int | float) else intent

    @admin.display(description="엔티티")
    def entities(self, obj):
        values = {
            key: value for key, value in (obj.raw_data.get("entities") or {}).items() if value not in (None, [], "")
        }
        return short(json.dumps(values, ensure_ascii=False), 50)

    @admin.display(description="엔티티")
    def entities_full(self, obj):
        return pretty_json(obj.raw_data.get("entities") or {})

    @admin.display(description="답변")
    def answer(self, obj):
        return short(obj.raw_data.get("response_text"), 50)

    @admin.display(description="답변")
    def answer_full(self, obj):
        return obj.raw_data.get("response_text", "")

    @admin.display(description="턴 품질 (seed §8.2)")
    def turn_quality(self, obj):
        return obj.raw_data.get("quality", "—")

    @admin.display(description="피드백")
    def feedback(self, obj):
        given = getattr(obj, "latest_feedback", None)
        if not given:
            return "—"
        parts = [{"up": "👍", "down": "👎"}.get(given["vote"], "")]
        if given["rating"] is not None:
            parts.append(f"{given['rating']}/5")
        if given["implicit"]:
            parts.append("(재생성)")
        if given["comment"]:
            parts.append(f"“{short(given['comment'], 40)}”")
        return " ".join(part for part in parts if part)


@admin.register(DataQueueItem)
class DataQueueItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "model_type", "status", "priority", "quality_score", "channel", "source", "created_at"]
    list_filter = ["model_type", "status", "channel", "review_reason", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["source_id", "raw_data__input_text"]
    show_full_result_count = False
    readonly_fields = ["raw_data_pretty", "processed_data", "validation_errors"]
    exclude = ["raw_data"]

    @admin.display(description="원본")
    def source(self, obj):
        return f"{obj.source_table}:{obj.source_id}"

    @admin.display(description="원본 데이터")
    def raw_data_pretty(self, obj):
        return pretty_json(obj.raw_data)


@admin.register(NluTrainingData)
class NluTrainingDataAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "short_text",
        "predicted_intent",
        "true_intent",
        "label_source",
        "labeler_id",
        "prediction_confidence",
        "text_quality_score",
        "is_augmented",
        "augmentation_method",
        "created_at",
    ]
    list_filter = ["label_source", "true_intent", "predicted_intent", "is_augmented", "is_used_for_training"]
    search_fields = ["input_text", "labeler_id"]
    raw_id_fields = ["conversation", "data_queue", "original_data"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

    @admin.display(description="문장")
    def short_text(self, obj):
        return short(obj.input_text)


@admin.register(RagEmbeddingQueueItem)
class RagEmbeddingQueueItemAdmin(ReadOnlyAdmin):
    list_display = [
        "document_type",
        "document_id",
        "title",
        "search_count",
        "click_count",
        "positive_feedback",
        "negative_feedback",
        "quality_score",
        "needs_reembedding",
        "status",
    ]
    list_filter = ["document_type", "status", "needs_reembedding"]
    search_fields = ["document_id", "title"]
    exclude = ["embedding_vector"]


@admin.register(RecommendationFeedback)
class RecommendationFeedbackAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "recommendation",
        "user_action",
        "acted_on_shop",
        "time_to_action_ms",
        "explicit_rating",
        "created_at",
    ]
    list_filter = ["user_action", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["user", "selected_shop"]
    raw_id_fields = ["recommendation_log", "user", "selected_shop"]
    show_full_result_count = False

    def get_queryset(self, request):
        # A click names its shop in interaction_details (selected_shop is only a selection's): one subquery.
        clicked = Shop.objects.filter(pk=OuterRef("clicked_shop_id")).values("shop_name")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                clicked_shop_id=Case(
                    When(user_action=UserAction.CLICKED, then=Cast(KT("interaction_details__shop_id"), IntegerField()))
                )
            )
            .annotate(clicked_shop_name=Subquery(clicked))
        )

    @admin.display(description="추천 ID", ordering="recommendation_log_id")
    def recommendation(self, obj):
        return obj.recommendation_log_id

    @admin.display(description="가게")
    def acted_on_shop(self, obj):
        """The chosen shop of a selection, the opened one of a click (— for other actions)."""
        if obj.selected_shop_id:
            return obj.selected_shop.shop_name
        if obj.clicked_shop_id is not None:
            return f"{obj.clicked_shop_name or '?'} (#{obj.clicked_shop_id}, 클릭)"
        return "—"


@admin.register(AnswerFeedback)
class AnswerFeedbackAdmin(ReadOnlyAdmin):
    list_display = ["updated_at", "channel", "source_id", "voter", "vote", "rating", "short_comment", "is_implicit"]
    list_filter = ["channel", "vote", "rating", "is_implicit", ("updated_at", admin.DateFieldListFilter)]
    search_fields = ["comment", "voter", "source_id"]
    raw_id_fields = ["user", "partner", "conversation", "knowledge_message", "partner_session"]
    show_full_result_count = False

    @admin.display(description="의견")
    def short_comment(self, obj):
        return short(obj.comment, 50)


@admin.register(UserLearningData)
class UserLearningDataAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "data_completeness",
        "nlu_features",
        "interactions",
        "recommendations",
        "feedback",
        "valuable_sessions",
        "sessions",
        "updated_at",
    ]
    list_select_related = ["user"]
    search_fields = ["user__external_user_id", "user__nickname"]


@admin.register(PerformanceMetric)
class PerformanceMetricAdmin(ReadOnlyAdmin):
    list_display = [
        "measured_at",
        "model_type",
        "model_version",
        "request_count",
        "success_rate",
        "p95_response_time_ms",
    ]
    list_filter = ["model_type", ("measured_at", admin.DateFieldListFilter)]
    show_full_result_count = False


from ml_training import admin_training  # noqa: E402, F401  (training jobs and the model registry)
