"""The recommendation re-ranker as data: a linear score over the features the recommender logs per shown
shop (chat/services/recommend.py `score_shop`) plus today's hand-tuned score as one more feature.

Exported as `manifest.json` (feature names, kind) and `weights.npy` / `bias.npy`; scored with numpy. The
hand-tuned ranking itself is the same model with weight 1 on the hand-tuned score (`HAND_TUNED`), so the
champion and a candidate are always compared the same way.
"""

from dataclasses import dataclass, field

import numpy as np

# The recommender's logged features (recommend.WEIGHTS' keys) and its hand-tuned score.
SHOP_FEATURES = ("budget_fit", "distance", "popularity", "quality", "preference", "good_influence", "group_fit")
HAND_TUNED_SCORE = "score"
FEATURES = (*SHOP_FEATURES, HAND_TUNED_SCORE)
KIND = "linear-reranker"


@dataclass(frozen=True)
class LinearReranker:
    feature_names: tuple[str, ...]
    weights: np.ndarray
    bias: float = 0.0
    metadata: dict = field(default_factory=dict)

    def matrix(self, rows: list[dict]) -> np.ndarray:
        """Rows of features ({name: value}, a missing one is 0) as a (shops x features) matrix."""
        return np.array([[float(row.get(name) or 0.0) for name in self.feature_names] for row in rows], dtype=float)

    def scores(self, rows: list[dict]) -> np.ndarray:
        """One score per row; higher ranks first."""
        if not rows:
            return np.zeros(0)
        return self.matrix(rows) @ self.weights + self.bias

    def named_weights(self) -> dict[str, float]:
        return {name: round(float(w), 6) for name, w in zip(self.feature_names, self.weights, strict=True)}


HAND_TUNED = LinearReranker((HAND_TUNED_SCORE,), np.array([1.0]), metadata={"trainer": "hand-tuned"})


def feature_row(features: dict, hand_tuned_score: float) -> dict:
    """What the model scores for one shop: its logged features and the hand-tuned score."""
    return {**features, HAND_TUNED_SCORE: hand_tuned_score}


def to_artifact(model: LinearReranker) -> tuple[dict, dict[str, np.ndarray]]:
    manifest = {"kind": KIND, "features": list(model.feature_names), "metadata": model.metadata}
    return manifest, {"weights": np.asarray(model.weights, dtype=float), "bias": np.array([model.bias], dtype=float)}


def from_artifact(manifest: dict, arrays: dict[str, np.ndarray]) -> LinearReranker:
    if manifest.get("kind") != KIND:
        raise ValueError(f"not a re-ranker artifact: kind {manifest.get('kind')!r}")
    names = tuple(manifest["features"])
    weights = np.asarray(arrays["weights"], dtype=float)
    if weights.shape != (len(names),) or arrays["bias"].shape != (1,):
        raise ValueError(f"re-ranker arrays do not match its {len(names)} features")
    return LinearReranker(names, weights, float(arrays["bias"][0]), manifest.get("metadata") or {})
