"""Quality scores of the learning data (seed 003 §8.2, §8.4, §9.10).

- `turn_quality_score`: NLU confidence × 0.3 + response-time score × 0.2 + recommendations present
  × 0.3 + response-length score × 0.2, stored on the conversation (`response_quality_score`).
- `session_value`: a session is worth training on with ≥ 2 turns, mean quality ≥ 0.5, at least one
  recommendation and a normal end (no turn failed).
- `data_completeness_score`: per user, NLU features (need 5), interactions (3), recommendations (2)
  and feedback (1), each capped at its requirement, averaged.
- `decision_quality`: a selection's sample quality by time to decide (seed §9.10: < 5 s 0.9,
  < 30 s 0.7, else 0.5).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q

from chat.models import Conversation, RecommendationLog
from ml_training.models import AnswerFeedback, DataQueueItem, RecommendationFeedback

FAST_RESPONSE_MS = 500  # full response-time score at or under this ...
SLOW_RESPONSE_MS = 5000  # ... falling linearly to 0 here
GOOD_LENGTH = (20, 500)  # characters of an answer that reads well in a chat bubble
COMPLETENESS_NEEDS = {"nlu_features": 5, "interactions": 3, "recommendations": 2, "feedback": 1}


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def response_time_score(ms: int | None) -> float:
    if ms is None:
        return 0.0
    return _clamp((SLOW_RESPONSE_MS - ms) / (SLOW_RESPONSE_MS - FAST_RESPONSE_MS))


def response_length_score(text: str) -> float:
    low, high = GOOD_LENGTH
    length = len(text or "")
    if length < low:
        return length / low
    if length > high:
        return _clamp(high / length)
    return 1.0


def turn_quality_score(
    *, confidence: float, response_ms: int | None, has_recommendations: bool, response: str
) -> Decimal:
    score = (
        _clamp(confidence) * 0.3
        + response_time_score(response_ms) * 0.2
        + (0.3 if has_recommendations else 0.0)
        + response_length_score(response) * 0.2
    )
    return Decimal(str(round(score, 3)))


def decision_quality(time_to_decision_ms: int | None) -> Decimal:
    if time_to_decision_ms is not None and time_to_decision_ms < 5000:
        return Decimal("0.900")
    if time_to_decision_ms is not None and time_to_decision_ms < 30000:
        return Decimal("0.700")
    return Decimal("0.500")


@dataclass(frozen=True)
class SessionValue:
    turns: int
    mean_quality: float
    has_recommendation: bool
    ended_normally: bool

    @property
    def is_valuable(self) -> bool:
        return self.turns >= 2 and self.mean_quality >= 0.5 and self.has_recommendation and self.ended_normally


def session_value(session_id) -> SessionValue:
    """Seed §8.2 criteria for one dining session, from its conversation rows."""
    stats = Conversation.objects.filter(session_id=session_id).aggregate(
        turns=Count("id"),
        mean_quality=Avg("response_quality_score"),
        recommended=Count("id", filter=~Q(recommended_shop_ids=[])),
        failed=Count("performance_logs", filter=~Q(performance_logs__error_type="")),
    )
    return SessionValue(
        turns=stats["turns"],
        mean_quality=float(stats["mean_quality"] or 0),
        has_recommendation=stats["recommended"] > 0,
        ended_normally=stats["turns"] > 0 and stats["failed"] == 0,
    )


def data_completeness_score(user_id: int) -> float:
    """Seed §8.4 per chat user: each kind of data against its requirement, averaged (0.0-1.0)."""
    have = {
        "nlu_features": DataQueueItem.objects.filter(user_id=user_id, model_type="nlu").count(),
        "interactions": Conversation.objects.filter(user_id=user_id).count(),
        "recommendations": RecommendationLog.objects.filter(user_id=user_id).count(),
        "feedback": AnswerFeedback.objects.filter(conversation__user_id=user_id).count()
        + RecommendationFeedback.objects.filter(user_id=user_id).count(),
    }
    return round(sum(min(1.0, have[name] / need) for name, need in COMPLETENESS_NEEDS.items()) / 4, 3)
