"""Natural-language understanding for the dining assistant (seed 003 §5.2 steps 5-8).

    understand("5천원으로 점심 뭐 먹지?")
    -> NluResult(intent="BUDGET_INQUIRY", confidence=0.9.., entities={"budget": 5000, "meal_time": "점심", ...})

Steps: normalise -> Kiwi morphemes -> rule entities -> intent (swappable classifier, see classifier.py)
-> carry missing entities over from the previous turn when the message follows up on it.
"""

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from chat.models.dining import Intent

from .budget import extract_budget
from .classifier import (
    IntentClassifier,
    LinearIntentClassifier,
    ModelFileError,
    get_classifier,
    load_classifier,
    register_model_kind,
    reset_classifier_cache,
)
from .entities import ENTITY_KEYS
from .features import cached_entities
from .intents import INTENTS
from .normalize import normalize
from .tokenizer import get_kiwi, tokenize

__all__ = [
    "INTENTS", "ENTITY_KEYS", "NluResult", "understand", "extract_budget", "normalize", "tokenize", "warm_up",
    "IntentClassifier", "LinearIntentClassifier", "ModelFileError", "get_classifier", "load_classifier",
    "register_model_kind", "reset_classifier_cache", "train_intent_model",
]

MAX_TEXT_CHARS = 2000

# Intents about finding food: a follow-up to one of them keeps what was already said.
_DINING_INTENTS = frozenset(
    {Intent.FOOD_REQUEST, Intent.BUDGET_INQUIRY, Intent.LOCATION_INQUIRY, Intent.TIME_INQUIRY, Intent.MENU_OPTION,
     Intent.EMERGENCY_FOOD, Intent.GROUP_DINING, Intent.COUPON_INQUIRY},
)
_FOLLOW_UP = re.compile(
    r"^(그럼|그러면|그럼요|아님|아니면|그리고|근데|그건|그거|거기|그\s?집|혹시|또|다른\s?거)|"
    r"(이면|면|라면|이라면|은|는|도|으로는|로는|어때|어떄|어때요|되나|될까|가능해)\s?\??$"
)
_SHORT_FOLLOW_UP_CHARS = 14
_UNSURE_CONFIDENCE = 0.5  # below this a follow-up's own intent yields to the previous turn's
_CARRIED_INTENT_CONFIDENCE = 0.6  # confidence reported for an intent taken over from the previous turn


@dataclass(frozen=True)
class NluResult:
    intent: str
    confidence: float
    entities: dict
    normalized_text: str
    tokens: list[str]
    carried_over: tuple[str, ...] = field(default=())  # entity keys inherited from the previous turn

    def to_dict(self) -> dict:
        return asdict(self)


def understand(text: str, context: dict | None = None, classifier: IntentClassifier | None = None) -> NluResult:
    """Intent (one of INTENTS, with confidence) and entities (every key of ENTITY_KEYS) of a Korean message.

    `context` may be the previous turn's `{"intent": ..., "entities": {...}}`; a follow-up such as
    "그럼 8천원이면?" then keeps the previous food type, location etc. and takes only the new budget.
    `classifier` overrides `get_classifier()`: the registry's version serving this user (ml_training).
    """
    normalized = normalize(text)[:MAX_TEXT_CHARS]
    if not normalized:
        return NluResult(Intent.UNKNOWN, 1.0, _empty_entities(), normalized, [])
    tokens = tokenize(normalized)
    entities = _copy_entities(cached_entities(normalized))
    intent, confidence = (classifier or get_classifier()).predict(normalized, tokens)

    carried: tuple[str, ...] = ()
    previous = context or {}
    previous_entities = previous.get("entities") or {}
    previous_intent = previous.get("intent")
    if previous_entities or previous_intent:
        follow_up = _is_follow_up(normalized, entities)
        unsure = intent == Intent.UNKNOWN or confidence < _UNSURE_CONFIDENCE
        if follow_up and unsure and previous_intent in _DINING_INTENTS:
            # "그럼 내일은?" after asking about opening hours is still about opening hours.
            intent, confidence = previous_intent, max(confidence, _CARRIED_INTENT_CONFIDENCE)
        if intent in _DINING_INTENTS and (follow_up or previous_intent in _DINING_INTENTS):
            carried = _carry_over(entities, previous_entities)
    return NluResult(intent, float(confidence), entities, normalized, tokens, carried)


def train_intent_model(labelled: Iterable[tuple[str, str]], **params) -> LinearIntentClassifier:
    """Train the baseline's model kind on raw (text, intent) pairs, e.g. for the ml_training pipeline:

        train_intent_model(rows, metadata={"model_version": "nlu-v2"}).save(path)  # then NLU_INTENT_MODEL_PATH=path

    `params` are those of `LinearIntentClassifier.train` (l2, epochs, rule_weight, min_confidence, metadata...).
    """
    examples = []
    for text, intent in labelled:
        normalized = normalize(text)
        examples.append((normalized, tokenize(normalized), intent))
    return LinearIntentClassifier.train(examples, **params)


def warm_up() -> None:
    """Load Kiwi and the intent classifier now (e.g. at worker start) instead of on the first message."""
    get_kiwi()
    get_classifier()


def _is_follow_up(normalized: str, entities: dict) -> bool:
    if _FOLLOW_UP.search(normalized):
        return True
    has_entity = any(entities[key] for key in ("budget", "food_type", "category", "location", "meal_time"))
    return has_entity and len(normalized.replace(" ", "")) <= _SHORT_FOLLOW_UP_CHARS


# Entities that travel together: a new food replaces both food type and category.
_CARRY_GROUPS = (("budget", "budget_scope"), ("food_type", "category"), ("location",),
                 ("companions", "companion_count"), ("meal_time", "visit_time"), ("menu_options",))


def _carry_over(entities: dict, previous: dict) -> tuple[str, ...]:
    carried = []
    if entities.get("budget") and not entities.get("budget_scope") and previous.get("budget_scope"):
        # "그럼 8천원이면?" after "1인당 5천원" (or a group total) means the same kind of amount.
        entities["budget_scope"] = previous["budget_scope"]
        carried.append("budget_scope")
    for group in _CARRY_GROUPS:
        if any(entities.get(key) for key in group):
            continue
        for key in group:
            value = previous.get(key)
            if value:
                entities[key] = list(value) if isinstance(value, list) else value
                carried.append(key)
    return tuple(carried)


def _copy_entities(entities: dict) -> dict:
    return {key: list(value) if isinstance(value, list) else value for key, value in entities.items()}


def _empty_entities() -> dict:
    defaults = {"companions": [], "menu_options": [], "urgency": "normal", "no_money": False}
    return {key: defaults.get(key) for key in ENTITY_KEYS}
