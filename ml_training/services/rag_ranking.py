"""The rag model: search ranking parameters per rag_key with a global default, stored as pure JSON.

    {"default": {"k1", "b", "text_weight", "calibration": [slope, intercept]},
     "per_rag_key": {rag_key: {...same...}}}

`for_rag_key()` is what a search of that rag_key uses: its own parameters, else the default.
"""

from dataclasses import dataclass, field

from rag.services.search import DEFAULT_RANKING, RankingParams

# What a stored parameter may be (anything else: the artifact is refused and the previous version serves).
BOUNDS = {"k1": (0.0, 10.0), "b": (0.0, 1.0), "text_weight": (0.0, 1.0)}


@dataclass(frozen=True)
class RagRanking:
    default: RankingParams = DEFAULT_RANKING
    per_rag_key: dict[str, RankingParams] = field(default_factory=dict)

    def for_rag_key(self, rag_key: str) -> RankingParams:
        return self.per_rag_key.get(rag_key, self.default)


BUILTIN_RANKING = RagRanking()


def params_from_dict(raw) -> RankingParams:
    """RankingParams from its JSON form; ValueError naming what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError("ranking parameters must be an object")
    values = {}
    for name, (low, high) in BOUNDS.items():
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"{name} must be a number between {low} and {high}, not {value!r}")
        values[name] = float(value)
    calibration = raw.get("calibration")
    if (
        not isinstance(calibration, list) or len(calibration) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in calibration)
        or calibration[0] <= 0
    ):  # fmt: skip
        raise ValueError(f"calibration must be [slope > 0, intercept], not {calibration!r}")
    return RankingParams(**values, calibration=(float(calibration[0]), float(calibration[1])))


def to_artifact(ranking: RagRanking) -> tuple[dict, dict]:
    """(manifest, arrays) for the registry: everything is in the manifest."""
    manifest = {
        "kind": "rag-ranking",
        "default": ranking.default.as_dict(),
        "per_rag_key": {key: params.as_dict() for key, params in sorted(ranking.per_rag_key.items())},
    }
    return manifest, {}


def from_artifact(manifest: dict, arrays: dict) -> RagRanking:
    per_rag_key = manifest.get("per_rag_key")
    if not isinstance(per_rag_key, dict):
        raise ValueError("per_rag_key must be an object")
    return RagRanking(
        default=params_from_dict(manifest.get("default")),
        per_rag_key={str(key): params_from_dict(raw) for key, raw in per_rag_key.items()},
    )
