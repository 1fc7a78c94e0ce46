"""Value sets shared by the ml_training tables (each is also a CHECK constraint on its column)."""

from decimal import Decimal

from django.db import models
from django.db.models import CharField, JSONField, Q, Transform

from analytics.models import Channel  # one list of chat channels for logs and learning data

__all__ = ["Channel"]

ZERO = Decimal("0")
ONE = Decimal("1")


class ModelType(models.TextChoices):
    NLU = "nlu", "NLU (의도와 엔티티)"
    RAG = "rag", "RAG (검색)"
    RECOMMENDATION = "recommendation", "추천"


class QueueStatus(models.TextChoices):
    PENDING = "pending", "대기"
    PROCESSING = "processing", "처리 중"
    READY = "ready", "준비됨 (학습용으로 가공)"
    TRAINING = "training", "학습 중"
    COMPLETED = "completed", "완료"
    REJECTED = "rejected", "제외 (품질 낮음)"
    ERROR = "error", "오류"


class ReviewReason(models.TextChoices):
    """Why a queued turn is worth a human's look (blank: it is not)."""

    UNKNOWN_INTENT = "unknown_intent", "의도 알 수 없음"
    LOW_CONFIDENCE = "low_confidence", "의도 신뢰도 낮음"
    NEGATIVE_FEEDBACK = "negative_feedback", "부정 피드백"
    REGENERATED = "regenerated", "사용자가 답변 재생성"
    USER_CORRECTION = "user_correction", "사용자가 다음 메시지로 바로잡음"


class FeedbackVote(models.TextChoices):
    UP = "up", "👍 좋아요"
    DOWN = "down", "👎 싫어요"


class LabelSource(models.TextChoices):
    AUTO = "auto", "자동"
    MANUAL = "manual", "수동"
    VERIFIED = "verified", "검증됨"
    CORRECTED = "corrected", "수정됨"
    WEAK = "weak", "약한 라벨"


def between_0_and_1(field: str) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": ZERO, f"{field}__lte": ONE})


def one_of(field: str, values, *, blank: bool = False) -> Q:
    return Q(**{f"{field}__in": [*values, *([""] if blank else [])]})


@JSONField.register_lookup
class JsonbTypeof(Transform):
    """`field__jsonb_typeof="object"`: jsonb_typeof(field), for CHECKs that must not call
    array functions on objects (the seed's raw_data CHECK did and raised)."""

    lookup_name = "jsonb_typeof"
    function = "jsonb_typeof"
    output_field = CharField()
