"""What the chats serve: each model type's champion and, for a sticky share of users, its challenger.

Every process keeps the loaded models and reads the registry's generation counter (Redis) at most
once per `CHECK_INTERVAL_S`; a changed counter reloads the registry rows, so an activation, an A/B
start or a rollback reaches every web and worker process without a restart. A version whose
artifact fails its checksum is refused and whatever served before keeps serving.

A user's group is `bucket(experiment, user id) < percentage * 100` with a bucket in 0..9999 from
sha256 (stable across processes, unlike `hash()`); the experiment is the challenger's row, so raising
its percentage only adds users.
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

from chat.services.nlu import get_classifier
from ml_training.models import ModelType, ModelVersion
from ml_training.services import artifacts, nlu_model, rag_ranking, recommendation_model, registry

logger = logging.getLogger(__name__)

CHECK_INTERVAL_S = 1.0
BUILTIN = "builtin"  # no registry version: the chat's own model (curated NLU, hand-tuned ranking, default search)


@dataclass(frozen=True)
class Served:
    version_id: int | None
    version: str
    model: object | None  # the loaded model; None for the builtin or types served without an artifact
    percentage: float = 100.0
    experiment: str = ""

    def attribution(self, group: str) -> dict:
        return {"version_id": self.version_id, "version": self.version, "group": group}


_BUILTIN = Served(None, BUILTIN, None)
_LOADERS = {
    ModelType.NLU: nlu_model.from_artifact,
    ModelType.RECOMMENDATION: recommendation_model.from_artifact,
    ModelType.RAG: rag_ranking.from_artifact,
}
_lock = threading.Lock()
_state: dict = {"checked_at": float("-inf"), "generation": None, "champions": {}, "challengers": {}}


def bucket(experiment: str, user_id) -> int:
    return int(hashlib.sha256(f"{experiment}:{user_id}".encode()).hexdigest(), 16) % 10000


def in_challenger(challenger: Served, user_id) -> bool:
    return user_id is not None and bucket(challenger.experiment, user_id) < challenger.percentage * 100


def serve(model_type: str, user_id) -> tuple[Served, str]:
    """(what serves `user_id` for `model_type`, its group: champion or challenger)."""
    _refresh()
    challenger = _state["challengers"].get(model_type)
    if challenger is not None and in_challenger(challenger, user_id):
        return challenger, "challenger"
    return _state["champions"].get(model_type, _BUILTIN), "champion"


def model_for(model_type: str, user_id) -> tuple[object | None, dict]:
    """The model serving this user's turn (None: the builtin) and its attribution {"version_id", "version", "group"}."""
    served, group = serve(model_type, user_id)
    return served.model, served.attribution(group)


def nlu_classifier_for(user_id) -> tuple[object, dict]:
    """The intent classifier for this user's turn and its attribution."""
    classifier, attribution = model_for(ModelType.NLU, user_id)
    return (classifier or get_classifier()), attribution


def reranker_for(user_id) -> tuple[object | None, dict]:
    """The recommendation re-ranker for this user's turn (None: the hand-tuned ranking) and its attribution."""
    return model_for(ModelType.RECOMMENDATION, user_id)


def rag_rankings_for(user_id) -> tuple[object, dict]:
    """The RagRanking serving this user's turn (the version's, else the built-in one) and the attribution of
    the rag version: `.for_rag_key(k)` gives the parameters of each rag_key searched."""
    served, group = serve(ModelType.RAG, user_id)
    return served.model or rag_ranking.BUILTIN_RANKING, served.attribution(group)


def rag_ranking_for(user_id, rag_key: str) -> tuple[object, dict]:
    """The search ranking parameters of `rag_key` for this user's turn (its own, else the version's
    default, else the built-in ones) and the attribution of the rag version."""
    rankings, attribution = rag_rankings_for(user_id)
    return rankings.for_rag_key(rag_key), attribution


def attribution_for(model_types, user_id) -> dict:
    """{model type: attribution} of what serves `user_id`, for the row that records a turn."""
    attribution = {}
    for model_type in model_types:
        served, group = serve(model_type, user_id)
        attribution[model_type] = served.attribution(group)
    return attribution


def forget() -> None:
    """Drop this process's loaded models (tests; the next turn reloads from the registry)."""
    with _lock:
        _state.update(checked_at=float("-inf"), generation=None, champions={}, challengers={})


def _refresh() -> None:
    now = time.monotonic()
    if now - _state["checked_at"] < CHECK_INTERVAL_S:
        return
    with _lock:
        if now - _state["checked_at"] < CHECK_INTERVAL_S:
            return
        _state["checked_at"] = now
        try:
            _reload()
        except Exception:  # noqa: BLE001 - Redis or the database down: keep serving what is loaded
            logger.warning("model registry check failed; serving the loaded versions", exc_info=True)


def _reload() -> None:
    current = registry.generation()
    if current == _state["generation"]:
        return
    champions, challengers = dict(_state["champions"]), dict(_state["challengers"])
    rows = ModelVersion.objects.filter(is_active=True) | ModelVersion.objects.filter(
        ab_test_group=registry.CHALLENGER
    )
    live_champions = {row.model_type for row in rows if row.is_active}
    live_challengers = {row.model_type for row in rows if not row.is_active}
    for row in rows:
        slot = champions if row.is_active else challengers
        served = _load(row, slot.get(row.model_type))
        if served is not None:
            slot[row.model_type] = served
    for model_type in set(challengers) - live_challengers:
        del challengers[model_type]
    for model_type in set(champions) - live_champions:
        del champions[model_type]
    _state.update(generation=current, champions=champions, challengers=challengers)


def _load(row: ModelVersion, serving: Served | None) -> Served | None:
    """`row` ready to serve; None (keep `serving`) when its artifact is refused."""
    percentage = float(row.traffic_percentage) if not row.is_active else 100.0
    experiment = f"{row.model_type}-ab-{row.pk}"
    if serving is not None and serving.version_id == row.pk:
        return Served(row.pk, row.version, serving.model, percentage, experiment)
    loader = _LOADERS.get(row.model_type)
    if loader is None:
        return Served(row.pk, row.version, None, percentage, experiment)
    try:
        model = loader(*registry.load_artifact(row))
    except (artifacts.ArtifactRefused, ValueError):
        logger.exception("%s refused; %s keeps serving", row, serving.version if serving else BUILTIN)
        return None
    return Served(row.pk, row.version, model, percentage, experiment)
