"""Intent classifiers: the `IntentClassifier` protocol, the rule + softmax-regression baseline, its model file.

Model file (JSON, UTF-8) - written by `LinearIntentClassifier.save` and by the ml_training pipeline::

    {
      "format": "dining-nlu-intent-model",   # fixed marker
      "version": 1,                          # format version; loaders refuse versions they do not know
      "kind": "linear",                      # which loader builds the classifier (see `register_model_kind`)
      "intents": ["FOOD_REQUEST", ...],      # column order of weights/bias; a subset of INTENTS
      "features": {"morpheme_ngrams": [1, 2], "char_ngrams": [2, 3], "entity_signals": true},
      "vocabulary": ["m:먹", "c:천원", "e:budget", ...],   # feature names, row order of weights
      "weights": [[0.12, -0.3, ...], ...],   # len(vocabulary) rows x len(intents) columns
      "bias": [0.1, ...],                    # len(intents)
      "rule_weight": 1.0,                    # multiplier of the keyword-rule boosts (0 = pure model)
      "min_confidence": 0.0,                 # below this top probability the answer is UNKNOWN
      "metadata": {...}                      # free-form: trainer, data, created_at, metrics
    }

Scoring: logits = bias + sum(weights[f] for f in features(text)) + rule_weight * rule_boosts(text); softmax
over `intents`; the best intent and its probability are returned.
"""

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from django.conf import settings

from chat.models.dining import Intent

from .features import DEFAULT_FEATURE_CONFIG, extract_features
from .intents import INTENTS, rule_boosts

logger = logging.getLogger(__name__)

MODEL_FORMAT = "dining-nlu-intent-model"
MODEL_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be used (unreadable, wrong format/version, inconsistent shapes)."""


@runtime_checkable
class IntentClassifier(Protocol):
    def predict(self, text: str, tokens: list[str]) -> tuple[str, float]:
        """(intent, confidence in 0..1) for a normalised message and its Kiwi tokens."""


class LinearIntentClassifier:
    """Softmax regression over sparse binary features, plus keyword-rule boosts as fixed logit offsets."""

    kind = "linear"

    def __init__(
        self,
        *,
        intents: Iterable[str],
        vocabulary: Iterable[str],
        weights: np.ndarray,
        bias: np.ndarray,
        feature_config: dict | None = None,
        rule_weight: float = 1.0,
        min_confidence: float = 0.0,
        metadata: dict | None = None,
    ):
        self.intents = tuple(intents)
        self.vocabulary = {name: index for index, name in enumerate(vocabulary)}
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64)
        self.feature_config = dict(feature_config or DEFAULT_FEATURE_CONFIG)
        self.rule_weight = float(rule_weight)
        self.min_confidence = float(min_confidence)
        self.metadata = dict(metadata or {})
        unknown = set(self.intents) - set(INTENTS)
        if unknown:
            raise ModelFileError(f"unknown intents: {sorted(unknown)}")
        if self.weights.shape != (len(self.vocabulary), len(self.intents)) or self.bias.shape != (len(self.intents),):
            raise ModelFileError(
                f"weights {self.weights.shape} / bias {self.bias.shape} do not match "
                f"{len(self.vocabulary)} features x {len(self.intents)} intents"
            )

    # --- inference ---------------------------------------------------------------------------------

    def probabilities(self, text: str, tokens: list[str]) -> dict[str, float]:
        logits = self.bias.copy()
        rows = [self.vocabulary[f] for f in extract_features(text, tokens, self.feature_config) if f in self.vocabulary]
        if rows:
            logits += self.weights[rows].sum(axis=0)
        logits += self.rule_weight * _offsets(text, self.intents)
        return dict(zip(self.intents, _softmax(logits), strict=True))

    def predict(self, text: str, tokens: list[str]) -> tuple[str, float]:
        probabilities = self.probabilities(text, tokens)
        intent = max(probabilities, key=probabilities.get)
        confidence = probabilities[intent]
        if confidence < self.min_confidence:
            return Intent.UNKNOWN, round(float(1.0 - confidence), 3)
        return intent, round(float(confidence), 3)

    # --- training ----------------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        examples: Iterable[tuple[str, list[str], str]],
        *,
        feature_config: dict | None = None,
        rule_weight: float = 1.0,
        l2: float = 0.01,
        epochs: int = 300,
        learning_rate: float = 0.1,
        min_feature_count: int = 1,
        min_confidence: float = 0.0,
        metadata: dict | None = None,
    ) -> "LinearIntentClassifier":
        """Fit on (normalised text, tokens, intent) triples: full-batch Adam on the L2-regularised log-loss.

        Deterministic (zero initialisation, no sampling), so the same data always gives the same model.
        """
        feature_config = dict(feature_config or DEFAULT_FEATURE_CONFIG)
        examples = list(examples)
        if not examples:
            raise ValueError("no training examples")
        labels = {label for _, _, label in examples}
        if labels - set(INTENTS):
            raise ValueError(f"labels outside the intent taxonomy: {sorted(labels - set(INTENTS))}")
        intents = tuple(intent for intent in INTENTS if intent in labels)
        feature_sets = [extract_features(text, tokens, feature_config) for text, tokens, _ in examples]
        counts: dict[str, int] = {}
        for features in feature_sets:
            for feature in features:
                counts[feature] = counts.get(feature, 0) + 1
        vocabulary = sorted(f for f, count in counts.items() if count >= min_feature_count)
        index = {name: i for i, name in enumerate(vocabulary)}

        # The design matrix is binary and very sparse (~60 of thousands of features per message): keep it as
        # (example, feature) index pairs and do the products with gathers and scatter-adds.
        pairs = [(row, index[f]) for row, features in enumerate(feature_sets) for f in features if f in index]
        rows = np.array([row for row, _ in pairs], dtype=np.intp)  # sorted by example
        cols = np.array([col for _, col in pairs], dtype=np.intp)
        row_ids, row_starts = np.unique(rows, return_index=True)
        by_feature = np.argsort(cols, kind="stable")
        col_ids, col_starts = np.unique(cols[by_feature], return_index=True)
        rows_by_feature = rows[by_feature]
        n = len(examples)
        y = np.zeros((n, len(intents)))
        y[np.arange(n), [intents.index(label) for _, _, label in examples]] = 1.0
        offsets = rule_weight * np.array([_offsets(text, intents) for text, _, _ in examples])

        weights = np.zeros((len(vocabulary), len(intents)))
        bias = np.zeros(len(intents))
        params = [weights, bias]
        moments = [np.zeros_like(p) for p in params]
        velocities = [np.zeros_like(p) for p in params]
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        for step in range(1, epochs + 1):
            logits = bias + offsets
            logits[row_ids] += np.add.reduceat(weights[cols], row_starts)
            error = (_softmax_rows(logits) - y) / n
            weight_grad = l2 * weights
            weight_grad[col_ids] += np.add.reduceat(error[rows_by_feature], col_starts)
            for param, grad, m, v in zip(params, (weight_grad, error.sum(axis=0)), moments, velocities, strict=True):
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                param -= learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)

        return cls(
            intents=intents,
            vocabulary=vocabulary,
            weights=weights,
            bias=bias,
            feature_config=feature_config,
            rule_weight=rule_weight,
            min_confidence=min_confidence,
            metadata={
                "trainer": "baseline-softmax-regression",
                "examples": n,
                "l2": l2,
                "epochs": epochs,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                **(metadata or {}),
            },
        )

    # --- model file --------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        vocabulary = sorted(self.vocabulary, key=self.vocabulary.get)
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "kind": self.kind,
            "intents": list(self.intents),
            "features": self.feature_config,
            "vocabulary": vocabulary,
            "weights": np.round(self.weights, 6).tolist(),
            "bias": np.round(self.bias, 6).tolist(),
            "rule_weight": self.rule_weight,
            "min_confidence": self.min_confidence,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LinearIntentClassifier":
        try:
            return cls(
                intents=data["intents"],
                vocabulary=data["vocabulary"],
                weights=np.asarray(data["weights"], dtype=np.float64).reshape(len(data["vocabulary"]), -1),
                bias=data["bias"],
                feature_config=data.get("features"),
                rule_weight=data.get("rule_weight", 1.0),
                min_confidence=data.get("min_confidence", 0.0),
                metadata=data.get("metadata"),
            )
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"bad linear intent model: {exc}") from exc

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)  # readers never see a half-written file
        return path


def _offsets(text: str, intents: tuple[str, ...]) -> np.ndarray:
    boosts = rule_boosts(text)
    return np.array([boosts.get(intent, 0.0) for intent in intents])


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# --- loading and the active classifier ---------------------------------------------------------------

_LOADERS: dict[str, Callable[[dict], IntentClassifier]] = {"linear": LinearIntentClassifier.from_dict}


def register_model_kind(kind: str, loader: Callable[[dict], IntentClassifier]) -> None:
    """Teach `load_classifier` a new model file "kind" (e.g. a transformer head the training pipeline adds)."""
    _LOADERS[kind] = loader


def load_classifier(path: str | Path) -> IntentClassifier:
    """Build the classifier a model file describes. Raises ModelFileError when the file cannot be used."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read intent model {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{path} is not a {MODEL_FORMAT} file")
    if data.get("version") != MODEL_VERSION:
        raise ModelFileError(f"{path}: unsupported model file version {data.get('version')!r}")
    loader = _LOADERS.get(data.get("kind"))
    if loader is None:
        raise ModelFileError(f"{path}: unknown model kind {data.get('kind')!r}")
    return loader(data)


def train_baseline() -> LinearIntentClassifier:
    """The baseline: rules + softmax regression trained on the TRAIN split of chat/data/nlu."""
    from .dataset import load_examples
    from .tokenizer import tokenize

    examples = [(ex.normalized_text, tokenize(ex.normalized_text), ex.intent) for ex in load_examples("train")]
    return LinearIntentClassifier.train(examples, metadata={"data": "chat/data/nlu/train.jsonl"})


_active: dict[tuple[str, int | None], IntentClassifier] = {}  # (path, file mtime) -> classifier; ("", None) = baseline
_active_lock = threading.Lock()
_BASELINE_KEY = ("", None)


def get_classifier() -> IntentClassifier:
    """The classifier `understand` uses: the model file at settings.NLU_INTENT_MODEL_PATH, else the baseline.

    Built once per (path, file modification time) and kept for the process, so a model file rewritten in place
    (a new model version) is picked up by the next message without a restart. A model file that is missing or
    cannot be loaded is logged and the baseline serves instead: a bad deployment never stops the chat.
    """
    path = getattr(settings, "NLU_INTENT_MODEL_PATH", "") or ""
    key = (path, _mtime(path)) if path else _BASELINE_KEY
    classifier = _active.get(key)
    if classifier is not None:
        return classifier
    with _active_lock:
        if key not in _active:
            for stale in [k for k in _active if k[0] == path]:
                del _active[stale]
            _active[key] = _build(path)
        return _active[key]


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _build(path: str) -> IntentClassifier:
    if path:
        try:
            classifier = load_classifier(path)
            logger.info("NLU intent model loaded from %s", path)
            return classifier
        except ModelFileError:
            logger.exception("NLU intent model %s unusable; falling back to the baseline", path)
    if _BASELINE_KEY not in _active:
        _active[_BASELINE_KEY] = train_baseline()
    return _active[_BASELINE_KEY]


def reset_classifier_cache(path: str | None = None) -> None:
    """Forget the classifier loaded from `path` (all of them, the baseline included, when None)."""
    with _active_lock:
        for key in [k for k in _active if path is None or k[0] == str(path)]:
            del _active[key]
