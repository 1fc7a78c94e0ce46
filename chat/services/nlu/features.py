"""Sparse binary features for intent classification: Kiwi morpheme n-grams, character n-grams, entity signals."""

from functools import lru_cache

from .entities import extract_entities

DEFAULT_FEATURE_CONFIG = {"morpheme_ngrams": [1, 2], "char_ngrams": [2, 3], "entity_signals": True}


@lru_cache(maxsize=4096)
def cached_entities(normalized_text: str) -> dict:
    """extract_entities memoised by text: the classifier and `understand` share one extraction per message."""
    return extract_entities(normalized_text)


def entity_signals(normalized_text: str) -> list[str]:
    entities = cached_entities(normalized_text)
    signals = []
    if entities["budget"] is not None:
        signals.append("budget")
    if entities["food_type"] or entities["category"]:
        signals.append("food")
    if entities["location"] == "근처":
        signals.append("near")
    elif entities["location"]:
        signals.append("place")
    if entities["companions"]:
        signals.append("companions")
    if (entities["companion_count"] or 0) >= 2:
        signals.append("group")
    if entities["meal_time"]:
        signals.append("meal_time")
    if entities["menu_options"]:
        signals.append("options")
    if entities["urgency"] == "high":
        signals.append("urgent")
    if not signals:
        signals.append("none")
    return signals


def extract_features(normalized_text: str, tokens: list[str], config: dict | None = None) -> set[str]:
    """Feature names for one message; `config` follows the model file's "features" block."""
    config = config or DEFAULT_FEATURE_CONFIG
    features: set[str] = set()
    for n in config.get("morpheme_ngrams", ()):
        padded = ["<s>", *tokens, "</s>"] if n > 1 else tokens
        for i in range(len(padded) - n + 1):
            features.add("m:" + "_".join(padded[i : i + n]))
    compact = "^" + normalized_text.replace(" ", "") + "$"
    for n in config.get("char_ngrams", ()):
        for i in range(len(compact) - n + 1):
            features.add("c:" + compact[i : i + n])
    if config.get("entity_signals"):
        features.update("e:" + signal for signal in entity_signals(normalized_text))
    return features
