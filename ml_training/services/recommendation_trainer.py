"""The recommendation trainer: a linear re-ranker learned from recommendation_feedback.

Each recommendation a user acted on is one query: the shops shown (with the features and hand-tuned
score logged for each, chat/services/recommend.py) and graded relevance, selected = 1, clicked = 0.5,
shown and ignored = 0. Two candidates on the same rows (scikit-learn), the better validation NDCG@5
wins and is refitted on everything but the frozen test split:

- "pairwise-logreg": logistic regression on feature differences of every pair of differently graded
  shops of a query (a linear RankNet), weighted by the grade difference;
- "pointwise-ridge": ridge regression of the grade on the features.

Time split (`SPLIT_VERSION`): queries in time order (first action, then log id); the newest
`test_share` is the frozen test split, never trained on, on which the candidate and the champion (the
registry's, else the hand-tuned ranking) are scored by NDCG@5 and HitRate@3 in the same run; the
newest `validation_share` of the rest picks the candidate. The gate is the paired bootstrap of the
per-query NDCG@5 difference (`gate.bootstrap_gate`).
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Q
from django.utils.translation import gettext
from sklearn.linear_model import LogisticRegression, Ridge

from ml_training.models import ModelType, RecommendationFeedback, TrainingJob, TrainingJobStatus, UserAction
from ml_training.services import gate, recommendation_model, training
from ml_training.services.recommendation_model import FEATURES, HAND_TUNED, LinearReranker, feature_row
from ml_training.services.training import Option, Outcome, Trainer

SPLIT_VERSION = "time-v1"
GRADES = {UserAction.SELECTED: 1.0, UserAction.CLICKED: 0.5}
NDCG_AT, HIT_AT = 5, 3
GATE_METRIC = f"ndcg@{NDCG_AT}"
CANDIDATES = ("pairwise-logreg", "pointwise-ridge")
MIN_TRAIN_QUERIES = 10


@dataclass(frozen=True)
class Query:
    """One recommendation shown to a user: its shops in shown order, their feature rows and grades."""

    key: str
    at: object  # datetime of the first action on it
    shop_ids: tuple[int, ...]
    rows: tuple[dict, ...]
    grades: np.ndarray


@dataclass(frozen=True)
class Splits:
    train: list[Query]
    validation: list[Query]
    test: list[Query]

    def counts(self) -> dict:
        return {"train": len(self.train), "validation": len(self.validation), "frozen_test": len(self.test)}


def load_queries() -> list[Query]:
    """Every recommendation with feedback that has something to rank (two shops shown, one graded),
    oldest first. Feedback rows of one recommendation log (a click, then a selection) are merged, a
    shop keeping its best grade; a row without its log is a query of its own."""
    merged: dict[str, dict] = {}
    rows = RecommendationFeedback.objects.order_by("action_timestamp", "pk").values_list(
        "pk", "recommendation_log_id", "recommended_shops", "user_action", "selected_shop_id",
        "interaction_details", "action_timestamp",
    )  # fmt: skip
    for pk, log_id, shown, action, selected_id, details, at in rows:
        key = f"log:{log_id}" if log_id is not None else f"feedback:{pk}"
        query = merged.setdefault(key, {"at": at, "shown": shown or [], "grades": {}})
        shop_id = selected_id if action == UserAction.SELECTED else (details or {}).get("shop_id")
        grade = GRADES.get(action, 0.0)
        if shop_id is not None and grade:
            query["grades"][shop_id] = max(grade, query["grades"].get(shop_id, 0.0))
    queries = []
    for key, query in merged.items():
        shown = sorted((item for item in query["shown"] if item.get("shop_id") is not None),
                       key=lambda item: item.get("rank") or 0)  # fmt: skip
        grades = np.array([query["grades"].get(item["shop_id"], 0.0) for item in shown])
        if len(shown) < 2 or not grades.any():
            continue
        queries.append(
            Query(
                key=key,
                at=query["at"],
                shop_ids=tuple(item["shop_id"] for item in shown),
                rows=tuple(feature_row(item.get("features") or {}, item.get("score") or 0.0) for item in shown),
                grades=grades,
            )
        )
    return sorted(queries, key=lambda q: (q.at, q.key))


def time_split(queries: list[Query], *, test_share: float, validation_share: float) -> Splits:
    """Oldest to newest: train | validation | frozen test (the newest `test_share`)."""
    n = len(queries)
    test_from = n - math.ceil(n * test_share) if n else 0
    validation_from = test_from - math.ceil(test_from * validation_share) if test_from else 0
    return Splits(queries[:validation_from], queries[validation_from:test_from], queries[test_from:])


# --- metrics ----------------------------------------------------------------------------------------


def ranked_grades(model: LinearReranker, query: Query) -> np.ndarray:
    """The query's grades in the order `model` ranks its shops (ties keep the shown order)."""
    order = np.argsort(-model.scores(list(query.rows)), kind="stable")
    return query.grades[order]


def ndcg(grades_in_order: np.ndarray, k: int = NDCG_AT) -> float:
    discounts = 1 / np.log2(np.arange(2, k + 2))
    gains = 2 ** grades_in_order[:k] - 1
    ideal = 2 ** np.sort(grades_in_order)[::-1][:k] - 1
    best = float(ideal @ discounts[: len(ideal)])
    return float(gains @ discounts[: len(gains)]) / best if best else 0.0


def hit(grades_in_order: np.ndarray, k: int = HIT_AT) -> float:
    return float(grades_in_order[:k].max(initial=0.0) > 0)


def per_query(model: LinearReranker, queries: list[Query]) -> dict[str, np.ndarray]:
    ranked = [ranked_grades(model, query) for query in queries]
    return {
        GATE_METRIC: np.array([ndcg(grades) for grades in ranked]),
        f"hit_rate@{HIT_AT}": np.array([hit(grades) for grades in ranked]),
    }


def evaluate(model: LinearReranker, queries: list[Query]) -> dict:
    values = per_query(model, queries)
    means = {name: round(float(v.mean()) if len(v) else 0.0, 4) for name, v in values.items()}
    return {"queries": len(queries), **means}


# --- candidates ---------------------------------------------------------------------------------------


def _pairs(queries: list[Query], names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Differences x_i - x_j for each pair with grade_i > grade_j, both ways round, labels and weights."""
    differences, weights = [], []
    for query in queries:
        matrix = LinearReranker(names, np.zeros(len(names))).matrix(list(query.rows))
        better, worse = np.nonzero(query.grades[:, None] > query.grades[None, :])
        differences.append(matrix[better] - matrix[worse])
        weights.append(query.grades[better] - query.grades[worse])
    x = np.vstack(differences)
    w = np.concatenate(weights)
    return np.vstack([x, -x]), np.concatenate([np.ones(len(x)), np.zeros(len(x))]), np.concatenate([w, w])


def train_pairwise(queries: list[Query], config: dict) -> LinearReranker:
    names = tuple(config["features"])
    x, y, w = _pairs(queries, names)
    model = LogisticRegression(C=config["C"], fit_intercept=False, max_iter=config["max_iter"])
    model.fit(x, y, sample_weight=w)
    return LinearReranker(names, model.coef_[0].copy(), 0.0, {"trainer": "pairwise-logreg", "C": config["C"]})


def train_pointwise(queries: list[Query], config: dict) -> LinearReranker:
    names = tuple(config["features"])
    x = np.vstack([LinearReranker(names, np.zeros(len(names))).matrix(list(q.rows)) for q in queries])
    y = np.concatenate([q.grades for q in queries])
    model = Ridge(alpha=1 / config["C"]).fit(x, y)
    return LinearReranker(names, model.coef_.copy(), float(model.intercept_),
                          {"trainer": "pointwise-ridge", "C": config["C"]})  # fmt: skip


TRAINERS = {"pairwise-logreg": train_pairwise, "pointwise-ridge": train_pointwise}


def run_job(job: TrainingJob, config: dict, progress) -> Outcome:
    progress(gettext("preparing the data: recommendation feedback, time split"), 5)
    splits = time_split(load_queries(), test_share=config["test_share"], validation_share=config["validation_share"])
    counts = splits.counts()
    TrainingJob.objects.filter(pk=job.pk).update(
        data_count=sum(counts.values()), train_count=counts["train"], validation_count=counts["validation"],
        test_count=counts["frozen_test"],
    )  # fmt: skip
    progress(gettext("split %(split)s %(counts)s") % {"split": SPLIT_VERSION, "counts": counts}, 10)
    if len(splits.train) < MIN_TRAIN_QUERIES or not splits.test:
        raise ValueError(
            gettext(
                "not enough recommendation feedback: %(counts)s (need %(minimum)s training queries and a test slice)"
            )
            % {"counts": counts, "minimum": MIN_TRAIN_QUERIES}
        )

    progress(gettext("training the candidates"), 15, status=TrainingJobStatus.TRAINING)
    started = time.perf_counter()
    candidates = {}
    for name in config["candidates"]:
        model = TRAINERS[name](splits.train, config)
        scores = evaluate(model, splits.validation) if splits.validation else {GATE_METRIC: 0.0}
        candidates[name] = {"validation": scores}
        progress(
            gettext("%(name)s: validation %(metric)s %(score)s")
            % {"name": name, "metric": GATE_METRIC, "score": scores[GATE_METRIC]}
        )
    winner = max(candidates, key=lambda name: (candidates[name]["validation"][GATE_METRIC], -CANDIDATES.index(name)))
    model = TRAINERS[winner](splits.train + splits.validation, config)
    train_seconds = round(time.perf_counter() - started, 3)

    progress(gettext("evaluating %(winner)s against the champion on the frozen test split") % {"winner": winner}, 80,
             status=TrainingJobStatus.EVALUATING)  # fmt: skip
    champion_version, champion = training.champion_model(
        ModelType.RECOMMENDATION, recommendation_model.from_artifact, HAND_TUNED
    )
    candidate_values, champion_values = per_query(model, splits.test), per_query(champion, splits.test)
    decision = gate.bootstrap_gate(
        champion_values[GATE_METRIC], candidate_values[GATE_METRIC], metric_name=GATE_METRIC,
        samples=config["bootstrap_samples"], confidence=config["confidence"],
    )  # fmt: skip
    hand_tuned = evaluate(HAND_TUNED, splits.test)
    manifest, arrays = recommendation_model.to_artifact(model)
    split = {
        "version": SPLIT_VERSION,
        "test_from": splits.test[0].at.isoformat(),
        "test_until": splits.test[-1].at.isoformat(),
        **counts,
    }
    return Outcome(
        manifest=manifest,
        arrays=arrays,
        metrics={
            "frozen_test": evaluate(model, splits.test),
            "champion_frozen_test": evaluate(champion, splits.test),
            "hand_tuned_frozen_test": hand_tuned,
            "bootstrap": decision.as_dict(),
            "candidates": candidates,
            "winner": winner,
            "weights": model.named_weights(),
            "train_seconds": train_seconds,
            "split": split,
            "data": counts,
        },
        decision=decision,
        base_model=champion_version.version if champion_version else "hand-tuned",
        architecture={"kind": winner, "features": list(model.feature_names)},
        training_data_stats=split,
    )


def has_data() -> bool:
    """Enough acted-on recommendations for a job to have training queries and a test slice: counted as
    `load_queries` merges them (the clicks and the selection of one recommendation are one query)."""
    counts = RecommendationFeedback.objects.aggregate(
        logs=Count("recommendation_log", distinct=True), orphans=Count("pk", filter=Q(recommendation_log__isnull=True))
    )
    return counts["logs"] + counts["orphans"] >= 2 * MIN_TRAIN_QUERIES


TRAINER = Trainer(
    options={
        "candidates": Option(list, list(CANDIDATES), choices=CANDIDATES),
        "features": Option(list, list(FEATURES), choices=FEATURES),
        "C": Option(float, 1.0, 0.0001, 1000.0),
        "max_iter": Option(int, 1000, 50, 10000),
        "test_share": Option(float, 0.2, 0.05, 0.5),
        "validation_share": Option(float, 0.2, 0.0, 0.5),
        "bootstrap_samples": Option(int, 2000, 200, 20000),
        "confidence": Option(float, 0.95, 0.5, 0.999),
    },
    run=run_job,
    has_data=has_data,
)
