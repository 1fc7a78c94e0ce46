"""NLU intent models as registry artifacts (manifest + .npy) and their numpy inference.

Two kinds, both implementing chat's `IntentClassifier.predict(text, tokens)`:
- "linear": today's `LinearIntentClassifier` (binary features, softmax regression, keyword-rule boosts);
- "tfidf-logreg": scikit-learn's TF-IDF over the same Kiwi-morpheme / character n-gram / entity
  features plus keyword-rule cues, with a multinomial LogisticRegression, exported as vocabulary, idf, coefficients and
  intercept and scored here with numpy (no pickle, no sklearn at serving time).
"""

import numpy as np

from chat.services.nlu import LinearIntentClassifier
from chat.services.nlu.classifier import ModelFileError
from chat.services.nlu.features import DEFAULT_FEATURE_CONFIG, extract_features
from chat.services.nlu.intents import rule_boosts

# The keyword rules enter the TF-IDF model as features ("r:<intent>" when a rule for it fires), not offsets.
TFIDF_FEATURE_CONFIG = {**DEFAULT_FEATURE_CONFIG, "rule_cues": True}


def tfidf_features(text: str, tokens: list[str], config: dict) -> set[str]:
    features = extract_features(text, tokens, config)
    if config.get("rule_cues"):
        features.update(f"r:{intent}" for intent in rule_boosts(text))
    return features


class TfidfIntentClassifier:
    kind = "tfidf-logreg"

    def __init__(self, *, intents, vocabulary, idf, coef, intercept, feature_config=None, metadata=None):
        self.intents = tuple(intents)
        self.vocabulary = {name: index for index, name in enumerate(vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)  # features x intents
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.feature_config = dict(feature_config or TFIDF_FEATURE_CONFIG)
        self.metadata = dict(metadata or {})
        if self.coef.shape != (len(self.vocabulary), len(self.intents)) or self.idf.shape != (len(self.vocabulary),):
            raise ModelFileError(f"coef {self.coef.shape} / idf {self.idf.shape} do not match the vocabulary")

    def probabilities(self, text: str, tokens: list[str]) -> np.ndarray:
        features = tfidf_features(text, tokens, self.feature_config)
        rows = [self.vocabulary[f] for f in features if f in self.vocabulary]
        logits = self.intercept.copy()
        if rows:
            # Binary tf times idf, L2-normalised: what TfidfVectorizer(binary=True, norm="l2") computes.
            weights = self.idf[rows]
            logits += (weights / np.sqrt(weights @ weights)) @ self.coef[rows]
        shifted = np.exp(logits - logits.max())
        return shifted / shifted.sum()

    def predict(self, text: str, tokens: list[str]) -> tuple[str, float]:
        probabilities = self.probabilities(text, tokens)
        best = int(probabilities.argmax())
        return self.intents[best], round(float(probabilities[best]), 3)

    def to_artifact(self) -> tuple[dict, dict]:
        manifest = {
            "kind": self.kind,
            "intents": list(self.intents),
            "vocabulary": sorted(self.vocabulary, key=self.vocabulary.get),
            "features": self.feature_config,
            "metadata": self.metadata,
        }
        return manifest, {"idf": self.idf, "coef": self.coef, "intercept": self.intercept}

    @classmethod
    def from_artifact(cls, manifest: dict, arrays: dict) -> "TfidfIntentClassifier":
        return cls(
            intents=manifest["intents"],
            vocabulary=manifest["vocabulary"],
            idf=arrays["idf"],
            coef=arrays["coef"],
            intercept=arrays["intercept"],
            feature_config=manifest.get("features"),
            metadata=manifest.get("metadata"),
        )


def to_artifact(classifier) -> tuple[dict, dict]:
    if isinstance(classifier, TfidfIntentClassifier):
        return classifier.to_artifact()
    data = classifier.to_dict()
    weights, bias = classifier.weights, classifier.bias
    manifest = {key: value for key, value in data.items() if key not in ("weights", "bias", "format", "version")}
    return manifest, {"weights": weights, "bias": bias}


def from_artifact(manifest: dict, arrays: dict):
    kind = manifest.get("kind")
    try:
        if kind == TfidfIntentClassifier.kind:
            return TfidfIntentClassifier.from_artifact(manifest, arrays)
        if kind == LinearIntentClassifier.kind:
            return LinearIntentClassifier.from_dict({**manifest, "weights": arrays["weights"], "bias": arrays["bias"]})
    except KeyError as exc:
        raise ModelFileError(f"intent model artifact lacks {exc}") from exc
    raise ModelFileError(f"unknown intent model kind {kind!r}")
