"""The rag trainer: the hybrid search's text weight and BM25 k1/b, learned per rag_key from feedback.

Labels come from the knowledge chat's answers and their feedback: a source marked helpful
(`helpful_source.document_id`), and the sources an answer cites ([n] in its text, or all of them when it
cites none) when the answer was rated positively (👍 or 4-5), are relevant documents for the question
that answer replied to. One labelled query per (rag_key, rag_type, asker, normalised question).

- held-out slice: the queries whose sha256(HELDOUT_SALT:normalised question) falls in the first
  HELDOUT_SHARE - stable, never trained on, the same for every candidate;
- grid search of text_weight x k1 x b on the training slice by MRR@depth, re-scoring candidates read once
  per query (`rag_rescoring`), among the sets that keep AutoRAG MRR within `autorag_tolerance` of the
  champion's; the global default is fitted on all training queries, a rag_key with at least
  `min_queries_per_rag_key` of them gets its own;
- the fused score's calibration is refitted for each chosen parameter set on the AutoRAG set (complete
  labels), so the relevance floor keeps its meaning when the weight moves;
- gate (`rag_gate`, over `gate.bootstrap_gate`): held-out MRR against the champion's parameters
  (bootstrap CI of the paired difference), and no parameter set may lose more than `autorag_tolerance` MRR on AutoRAG.
"""

import time
import unicodedata
import uuid
from collections import defaultdict
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext

from chat.models import KnowledgeMessage, MessageRole
from ml_training.models import AnswerFeedback, FeedbackVote, ModelType, TrainingJob, TrainingJobStatus
from ml_training.services import gate, rag_ranking, rag_rescoring, training
from ml_training.services.nlu_data import stable_fraction
from ml_training.services.rag_gate import rag_decision
from ml_training.services.rag_ranking import BUILTIN_RANKING, RagRanking
from ml_training.services.training import Option, Outcome, Trainer
from rag.models import Document, RagType
from rag.services.search import DEFAULT_RANKING, RankingParams, scope_for

HELDOUT_SALT = "rag-heldout-v1"
HELDOUT_SHARE = 0.3
POSITIVE_RATING = 4
TEXT_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
K1_VALUES = (0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0)
B_VALUES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
SELECTION_METRIC = "mrr"


def autorag_dir() -> Path:
    """The public AutoRAG Korean set (settings.AUTORAG_DATASET_DIR, default ../shared/datasets/autorag_ko)."""
    return Path(settings.AUTORAG_DATASET_DIR)


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    normalized: str
    rag_key: str
    rag_type: str
    user_id: int | None
    relevant: frozenset  # document ids

    @property
    def held_out(self) -> bool:
        return stable_fraction(self.normalized, HELDOUT_SALT) < HELDOUT_SHARE


def normalize_query(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").lower().split())


# --- data -----------------------------------------------------------------------------------------------


def labelled_queries() -> list[LabelledQuery]:
    """Every knowledge question with at least one relevant document by the feedback rules above."""
    question = KnowledgeMessage.objects.filter(
        conversation_id=OuterRef("knowledge_message__conversation_id"), role=MessageRole.USER,
        id__lt=OuterRef("knowledge_message_id"),
    ).order_by("-id").values("content")[:1]  # fmt: skip
    rows = (
        AnswerFeedback.objects.filter(knowledge_message__role=MessageRole.ASSISTANT)
        .filter(Q(helpful_source__isnull=False) | Q(vote=FeedbackVote.UP) | Q(rating__gte=POSITIVE_RATING))
        .annotate(question=Subquery(question))
        .values(
            "question", "vote", "rating", "helpful_source", "knowledge_message__content",
            "knowledge_message__sources", "knowledge_message__conversation__rag_key",
            "knowledge_message__conversation__rag_type", "knowledge_message__conversation__user_id",
        )
    )  # fmt: skip
    grouped: dict[tuple, set] = defaultdict(set)
    asked: dict[tuple, str] = {}
    for row in rows:
        relevant = set()
        helped = (row["helpful_source"] or {}).get("document_id")
        if isinstance(helped, int):
            relevant.add(helped)
        if row["vote"] == FeedbackVote.UP or (row["rating"] or 0) >= POSITIVE_RATING:
            relevant |= cited_documents(row["knowledge_message__content"], row["knowledge_message__sources"])
        normalized = normalize_query(row["question"])
        if not relevant or not normalized:
            continue
        key = (row["knowledge_message__conversation__rag_key"], row["knowledge_message__conversation__rag_type"],
               row["knowledge_message__conversation__user_id"], normalized)  # fmt: skip
        grouped[key] |= relevant
        asked.setdefault(key, row["question"])
    return [
        LabelledQuery(asked[key], key[3], key[0], key[1], key[2], frozenset(relevant))
        for key, relevant in sorted(grouped.items(), key=lambda item: (item[0][0], item[0][3], str(item[0][2])))
    ]


def cited_documents(answer: str, sources) -> set[int]:
    """The documents an answer cites: sources numbered [n] in its text, or every source when it numbers none."""
    sources = [source for source in sources or [] if isinstance(source, dict)]
    cited = [source for number, source in enumerate(sources, start=1) if f"[{number}]" in (answer or "")]
    return {source["document_id"] for source in cited or sources if isinstance(source.get("document_id"), int)}


def query_pools(queries: list[LabelledQuery], depth: int) -> list[tuple]:
    """(pool, relevant) per query, searched in the asker's own scope (isolation as in the chat)."""
    users = get_user_model().objects.in_bulk({q.user_id for q in queries if q.user_id is not None})
    return [
        (
            rag_rescoring.candidate_pool(
                scope_for(user=users.get(q.user_id), rag_key=q.rag_key, rag_type=q.rag_type), q.query, depth
            ),
            q.relevant,
        )
        for q in queries
    ]


# --- grid search ----------------------------------------------------------------------------------------


def grid(config: dict) -> list[RankingParams]:
    return [
        RankingParams(k1=float(k1), b=float(b), text_weight=float(w))
        for k1, b, w in product(config["k1_values"], config["b_values"], config["text_weights"])
    ]


def distance_from_default(params: RankingParams) -> float:
    """Ties go to the parameters closest to the hand-tuned ones."""
    return (
        abs(params.text_weight - DEFAULT_RANKING.text_weight)
        + abs(params.k1 - DEFAULT_RANKING.k1) / max(K1_VALUES)
        + abs(params.b - DEFAULT_RANKING.b)
    )


def mean_mrr(labelled: list[tuple], candidates: list[RankingParams], depth: int) -> dict[RankingParams, float]:
    """Mean MRR@depth of each parameter set over `labelled` (BM25 scores computed once per k1/b and query)."""
    totals: dict[RankingParams, float] = dict.fromkeys(candidates, 0.0)
    by_bm25 = defaultdict(list)
    for params in candidates:
        by_bm25[(params.k1, params.b)].append(params)
    for pool, relevant in labelled:
        if pool is None:
            continue
        for (k1, b), group in by_bm25.items():
            text = pool.text_scores(k1, b)
            for params in group:
                ranked = pool.ranked_documents(params, depth, text)
                totals[params] += rag_rescoring.query_metrics(ranked, relevant, depth)[SELECTION_METRIC]
    return {params: total / max(1, len(labelled)) for params, total in totals.items()}


def grid_search(labelled: list[tuple], candidates: list[RankingParams], depth: int) -> tuple[RankingParams, float]:
    """The parameter set with the best mean MRR@depth over `labelled`."""
    scores = mean_mrr(labelled, candidates, depth)
    best = min(candidates, key=lambda params: (-round(scores[params], 9), distance_from_default(params)))
    return best, scores[best]


# --- AutoRAG ----------------------------------------------------------------------------------------------


def autorag_pools(sample: int, depth: int, log) -> list[tuple]:
    """(pool, relevant documents) per AutoRAG question, over its corpus ingested for the job under a
    throw-away rag_key (deleted afterwards). sample > 0: its first `sample` questions, their gold documents
    and 2 x sample others."""
    from rag.management.commands.bench_retrieval import ingest_corpus, load_dataset

    path = autorag_dir()
    if not path.exists():
        raise ValueError(
            gettext("the AutoRAG set is missing at %(path)s: the rag model must be evaluated on it") % {"path": path}
        )
    corpus, questions = load_dataset(path)
    if sample:
        questions = questions[:sample]
        gold = {doc for question in questions for doc in question["relevant"]}
        others = [row for row in corpus if row["doc_id"] not in gold][: 2 * sample]
        corpus = [row for row in corpus if row["doc_id"] in gold] + others
    rag_key = f"ml-autorag-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    try:
        ingest_corpus(corpus, rag_key=rag_key)
        log(
            gettext("AutoRAG: %(chunks)s chunks ingested in %(seconds).1f s")
            % {"chunks": len(corpus), "seconds": time.perf_counter() - started}
        )
        ids = dict(Document.objects.filter(rag_key=rag_key).values_list("doc_id", "pk"))
        scope = scope_for(user=None, rag_key=rag_key, rag_type=RagType.CHATBOT_SHARED)
        return [
            (rag_rescoring.candidate_pool(scope, question["query"], depth),
             frozenset(ids[doc] for doc in question["relevant"] if doc in ids))
            for question in questions
        ]  # fmt: skip
    finally:
        Document.objects.filter(rag_key=rag_key).delete()


def autorag_mrr(pools: list[tuple], params: RankingParams, depth: int) -> float:
    return round(mean_mrr(pools, [params], depth)[params], 4)


# --- the job ----------------------------------------------------------------------------------------------


def fit(
    train: list[LabelledQuery], pools: list[tuple], autorag: list[tuple], champion: RagRanking, config: dict, log
) -> tuple[RagRanking, dict]:
    """The default (all training queries) and per-rag_key parameters; returns (ranking, grid report).

    Each is searched among the grid's sets that keep AutoRAG within `autorag_tolerance` of the champion's
    parameters for the same rag_key (all of them when none does: the gate then refuses)."""
    candidates, depth = grid(config), config["depth"]
    started = time.perf_counter()
    on_autorag = mean_mrr(autorag, candidates, depth)

    def safe(theirs: RankingParams) -> list[RankingParams]:
        floor = autorag_mrr(autorag, theirs, depth) - config["autorag_tolerance"]
        return [params for params in candidates if round(on_autorag[params], 4) >= floor] or candidates

    allowed = safe(champion.default)
    default, default_score = grid_search(pools, allowed, depth)
    report = {
        "combinations": len(candidates),
        "autorag_safe": len(allowed),
        "default": {"params": default.as_dict(), "train_mrr": round(default_score, 4)},
    }
    by_key = defaultdict(list)
    for i, query in enumerate(train):
        by_key[query.rag_key].append(i)
    per_rag_key = {}
    for rag_key, indices in sorted(by_key.items()):
        if len(indices) < config["min_queries_per_rag_key"]:
            continue
        best, score = grid_search([pools[i] for i in indices], safe(champion.for_rag_key(rag_key)), depth)
        report[f"rag_key:{rag_key}"] = {"params": best.as_dict(), "train_mrr": round(score, 4), "queries": len(indices)}
        per_rag_key[rag_key] = best  # kept even when equal to the default: it was fitted on its own queries
    seconds = time.perf_counter() - started
    report["seconds"] = round(seconds, 3)
    per_pair = 1000 * seconds / max(1, len(candidates) * (len(train) + len(autorag)))
    log(
        gettext(
            "grid search: %(sets)s parameter sets x (%(train)s training + %(autorag)s AutoRAG queries) in"
            " %(seconds).2f s (%(per_pair).3f ms per set and query); %(allowed)s sets keep AutoRAG within"
            " %(tolerance)s; default %(default)s train MRR %(default_mrr).4f; own parameters for %(rag_keys)s"
        )
        % {
            "sets": len(candidates),
            "train": len(train),
            "autorag": len(autorag),
            "seconds": seconds,
            "per_pair": per_pair,
            "allowed": len(allowed),
            "tolerance": config["autorag_tolerance"],
            "default": default.as_dict(),
            "default_mrr": default_score,
            "rag_keys": sorted(per_rag_key),
        }
    )
    return RagRanking(default=default, per_rag_key=per_rag_key), report


def calibrated_for_autorag(ranking: RagRanking, pools: list[tuple]) -> RagRanking:
    """Each parameter set with the calibration refitted on AutoRAG (the hand-tuned set keeps its own)."""

    def refit(params: RankingParams) -> RankingParams:
        if params == DEFAULT_RANKING:
            return params
        return RankingParams(params.k1, params.b, params.text_weight, rag_rescoring.fit_calibration(pools, params))

    return RagRanking(refit(ranking.default), {key: refit(params) for key, params in ranking.per_rag_key.items()})


def run_job(job: TrainingJob, config: dict, progress) -> Outcome:
    depth = config["depth"]
    progress(gettext("preparing the data: feedback-labelled knowledge questions"), 5)
    started = time.perf_counter()
    queries = labelled_queries()
    train = [q for q in queries if not q.held_out]
    held_out = [q for q in queries if q.held_out]
    counts = {
        "labelled_queries": len(queries), "train": len(train), "held_out": len(held_out),
        "held_out_split": f"{HELDOUT_SALT} < {HELDOUT_SHARE}", "rag_keys": len({q.rag_key for q in queries}),
    }  # fmt: skip
    TrainingJob.objects.filter(pk=job.pk).update(
        data_count=len(queries), train_count=len(train), validation_count=0, test_count=len(held_out)
    )
    progress(gettext("split %(counts)s") % {"counts": counts}, 10)
    if len(train) < config["min_queries"]:
        raise ValueError(
            gettext("only %(count)s feedback-labelled training queries (min_queries %(minimum)s)")
            % {"count": len(train), "minimum": config["min_queries"]}
        )
    pools = query_pools(train + held_out, depth)
    progress(
        gettext("candidates read for %(queries)s queries in %(seconds).2f s")
        % {"queries": len(pools), "seconds": time.perf_counter() - started},
        20,
    )

    autorag = autorag_pools(config["autorag_sample"], depth, progress)
    champion_version, champion = training.champion_model(ModelType.RAG, rag_ranking.from_artifact, BUILTIN_RANKING)

    progress(gettext("grid search on the training queries"), 40, status=TrainingJobStatus.TRAINING)
    ranking, report = fit(train, pools[: len(train)], autorag, champion, config, progress)

    progress(gettext("evaluating on the held-out queries and on AutoRAG"), 60, status=TrainingJobStatus.EVALUATING)
    ranking = calibrated_for_autorag(ranking, autorag)
    held_pools = pools[len(train) :]
    candidate_metrics = rag_rescoring.evaluate(held_pools, lambda i: ranking.for_rag_key(held_out[i].rag_key), depth)
    champion_metrics = rag_rescoring.evaluate(held_pools, lambda i: champion.for_rag_key(held_out[i].rag_key), depth)
    compared = {
        "default": (ranking.default, champion.default),
        **{f"rag_key:{key}": (params, champion.for_rag_key(key)) for key, params in ranking.per_rag_key.items()},
    }
    autorag_rows = {
        name: {"candidate": autorag_mrr(autorag, ours, depth), "champion": autorag_mrr(autorag, theirs, depth)}
        for name, (ours, theirs) in compared.items()
    }
    decision = rag_decision(
        gate.bootstrap_gate(champion_metrics[SELECTION_METRIC], candidate_metrics[SELECTION_METRIC],
                            metric_name=f"MRR@{depth}", samples=config["bootstrap_resamples"]),
        autorag_rows, tolerance=config["autorag_tolerance"],
    )  # fmt: skip
    held = {"candidate": rag_rescoring.mean_metrics(candidate_metrics),
            "champion": rag_rescoring.mean_metrics(champion_metrics), "queries": len(held_out)}  # fmt: skip
    progress(
        gettext(
            "held-out MRR@%(depth)s %(champion)s -> %(candidate)s, AutoRAG MRR %(autorag)s (%(questions)s"
            " questions); total %(seconds).1f s"
        )
        % {
            "depth": depth,
            "champion": held["champion"]["mrr"],
            "candidate": held["candidate"]["mrr"],
            "autorag": ", ".join(
                f"{name} {row['champion']} -> {row['candidate']}" for name, row in autorag_rows.items()
            ),
            "questions": len(autorag),
            "seconds": time.perf_counter() - started,
        },
        85,
    )
    manifest, arrays = rag_ranking.to_artifact(ranking)
    return Outcome(
        manifest=manifest,
        arrays=arrays,
        metrics={
            "held_out": held,
            "autorag": {"questions": len(autorag), "mrr": autorag_rows},
            "grid": report,
            "depth": depth,
            "data": counts,
            "train_seconds": round(time.perf_counter() - started, 2),
        },
        decision=decision,
        base_model=champion_version.version if champion_version else "builtin",
        architecture={
            "kind": "hybrid-bm25-vector",
            "tuned": ["k1", "b", "text_weight", "calibration"],
            "per_rag_key": sorted(ranking.per_rag_key),
        },  # fmt: skip
        training_data_stats=counts,
    )


def has_data() -> bool:
    """Enough feedback-labelled questions for the default `min_queries` (the weekly job skips rag otherwise)."""
    return len(labelled_queries()) >= TRAINER_MIN_QUERIES


TRAINER_MIN_QUERIES = 10
TRAINER = Trainer(
    options={
        "text_weights": Option(list, list(TEXT_WEIGHTS), choices=TEXT_WEIGHTS),
        "k1_values": Option(list, list(K1_VALUES), choices=K1_VALUES),
        "b_values": Option(list, list(B_VALUES), choices=B_VALUES),
        "depth": Option(int, 10, 1, 50),
        "min_queries": Option(int, TRAINER_MIN_QUERIES, 1, 100000),
        "min_queries_per_rag_key": Option(int, 30, 2, 100000),
        "autorag_sample": Option(int, 0, 0, 114),
        "autorag_tolerance": Option(float, 0.005, 0.0, 0.2),
        "bootstrap_resamples": Option(int, 2000, 100, 20000),
    },
    run=run_job,
    has_data=has_data,
)
