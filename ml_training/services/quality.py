"""Quality scores of the learning data (seed 003 §8.2, §8.4, §9.10).

- `turn_quality_score`: NLU confidence × 0.3 + response-time score × 0.2 + recommendations present
  × 0.3 + response-length score × 0.2, stored on the conversation (`response_quality_score`).
- `session_values`: a session is worth training on with ≥ 2 turns, mean quality ≥ 0.5, at least one
  recommendation and a normal end (no turn failed).
- `completeness` (stored per user by `refresh_user_learning_data`): NLU features (need 5),
  interactions (3), recommendations (2) and feedback (1), each capped at its requirement, averaged.
- `decision_quality`: a selection's sample quality by time to decide (seed §9.10: < 5 s 0.9,
  < 30 s 0.7, else 0.5).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q
from django.utils import timezone

from chat.models import Conversation, RecommendationLog
from ml_training.models import AnswerFeedback, DataQueueItem, RecommendationFeedback, UserLearningData

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


def session_values(user_id: int) -> list[SessionValue]:
    """Seed §8.2 criteria for each dining session of the user, from its conversation rows (one query);
    a session "ended normally" when none of its turns logged an error."""
    rows = (
        Conversation.objects.filter(user_id=user_id)
        .values("session_id")
        .annotate(
            turns=Count("id", distinct=True),
            mean_quality=Avg("response_quality_score"),
            recommended=Count("id", filter=~Q(recommended_shop_ids=[]), distinct=True),
            failed=Count("performance_logs", filter=~Q(performance_logs__error_type="")),
        )
    )
    return [
        SessionValue(
            turns=row["turns"],
            mean_quality=float(row["mean_quality"] or 0),
            has_recommendation=row["recommended"] > 0,
            ended_normally=row["failed"] == 0,
        )
        for row in rows
    ]


def completeness(counts: dict[str, int]) -> Decimal:
    """Seed §8.4: each kind of data against its requirement (capped at 1), averaged."""
    share = sum(min(1.0, counts[name] / need) for name, need in COMPLETENESS_NEEDS.items()) / len(COMPLETENESS_NEEDS)
    return Decimal(str(round(share, 3)))


def refresh_user_learning_data(user_ids) -> int:
    """Recompute the stored §8.4 score and §8.2 session counts of these chat users; returns how many."""
    refreshed = 0
    for user_id in user_ids:
        counts = {
            "nlu_features": DataQueueItem.objects.filter(user_id=user_id, model_type="nlu").count(),
            "interactions": Conversation.objects.filter(user_id=user_id).count(),
            "recommendations": RecommendationLog.objects.filter(user_id=user_id).count(),
            "feedback": AnswerFeedback.objects.filter(conversation__user_id=user_id).count()
            + RecommendationFeedback.objects.filter(user_id=user_id).count(),
        }
        sessions = session_values(user_id)
        UserLearningData.objects.update_or_create(
            user_id=user_id,
            defaults={
                **counts,
                "data_completeness": completeness(counts),
                "sessions": len(sessions),
                "valuable_sessions": sum(session.is_valuable for session in sessions),
                "updated_at": timezone.now(),
            },
        )
        refreshed += 1
    return refreshed
