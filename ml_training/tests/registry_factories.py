"""Small NLU and recommendation versions for the registry and serving tests: real artifacts."""

import numpy as np

from chat.services.nlu import train_intent_model
from ml_training.models import ModelType
from ml_training.services import nlu_model, recommendation_model, registry

FOOD = [("점심 뭐 먹지", "FOOD_REQUEST"), ("배고파 밥 추천해줘", "FOOD_REQUEST"), ("저녁 메뉴 골라줘", "FOOD_REQUEST")]
CHAT = [("안녕하세요", "GENERAL_CHAT"), ("안녕", "GENERAL_CHAT"), ("반가워요", "GENERAL_CHAT")]


def nlu_version(examples=FOOD + CHAT, *, note: str = ""):
    """Register a linear intent model trained on `examples` (raw text, intent) as a testing version."""
    classifier = train_intent_model(examples, epochs=60, rule_weight=0.0, metadata={"note": note})
    manifest, arrays = nlu_model.to_artifact(classifier)
    return registry.register(ModelType.NLU, manifest=manifest, arrays=arrays, metrics={"note": note})


def recommendation_version(weights: dict[str, float], *, note: str = ""):
    """Register a re-ranker scoring shops by `weights` ({feature: weight}) as a testing version."""
    model = recommendation_model.LinearReranker(tuple(weights), np.array(list(weights.values())), 0.0, {"note": note})
    manifest, arrays = recommendation_model.to_artifact(model)
    return registry.register(ModelType.RECOMMENDATION, manifest=manifest, arrays=arrays, metrics={"note": note})
