"""Does the knowledge chat know when the documents do not answer? Measured on the public AutoRAG set.

    python manage.py bench_no_answer [--dataset ../shared/datasets/autorag_ko] [--questions N] [--fit]

In a throw-away database the corpus is ingested as one user's documents, then every question is asked
through the knowledge chat (`knowledge_chat.chat`, local responder) twice:

(a) against the corpus WITHOUT its gold chunk(s) (deleted in a savepoint that is rolled back, so the
    BM25 statistics really lack them): a reply of NO_CONTEXT_ANSWER counts as no-answer;
(b) against the full corpus: answered from the right chunk when a gold chunk is among the grounding
    chunks (the sources: relevance at or above the floor, `rag.services.relevance`).

The replies come from the configured LLM (`get_llm()`): offline the local responder, which abstains only
when no sentence of the grounding chunks shares a word with the question; with LLM_BASE_URL set, a model
that also abstains when the chunks do not answer (NO_ANSWER_MARK), so the chat's figures then include
its judgement while the sweep of floors stays the relevance model's alone.

The questions are split in two stable halves by sha256 of the qid (first byte even: the fit half, odd: the
held-out half). RELEVANCE_MODEL and the default floor were fitted on the fit half only; both figures are
printed for each half, at settings.RAG_RELEVANCE_FLOOR (the chat's replies) and for a sweep of floors
(the relevance of the same searches). A reference-answer check tells how often a remaining chunk holds most
of the words the dataset's own answer adds to the question (the corpus then still answers, and a no-answer
would be wrong), and (c) gives the no-answer share once the gold chunk's whole source document (every page
of its PDF) is gone, so the corpus lacks the topic. `--fit` refits RELEVANCE_MODEL on the fit half (logistic
regression; positives: the gold chunk among the top hits with the full corpus; negatives: the top hits
without it and without its source document), picks the highest floor keeping (b) >= FIT_TARGET_ANSWERED on
the fit half judged out of fold, and refits search.HYBRID_CALIBRATION; it prints them.
"""

import hashlib
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from chat.services import knowledge_chat
from config.benchmarks import throwaway_database
from rag.management.commands.bench_retrieval import ingest_corpus, load_dataset
from rag.models import Document, RagType
from rag.providers import get_llm, kiwi_morphemes
from rag.services import relevance, search

SWEEP = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)
FIT_DEPTH = 20
# (b) out of fold on the fit half. Above the 95 % target: one fit-half question is 1.6 points, the
# held-out half must still reach 95 %, and everyday questions are shorter and more loosely worded than
# AutoRAG's (fewer shared word pairs, lower relevance), so the floor leaves room for them.
FIT_TARGET_ANSWERED = 0.99
FOLDS = 5
FLOOR_GRID = tuple(round(0.005 * step, 3) for step in range(1, 200))
ANSWER_WORDS_HELD = 0.8  # a remaining chunk "still answers" when it holds this share of the answer's own words
UNRELATED = ("전혀 관계없는 우주선 질문", "🚀", "은 는 이 가", "고양이 사료 추천해줘", "오늘 점심 뭐 먹지?")
HALVES = ("fit", "held-out")


@dataclass
class Row:
    """One question's outcome: the chat's replies and the relevance behind them."""

    half: str
    no_answer_without_gold: bool
    right_chunk: bool
    gold_relevance: float | None  # the best gold chunk's relevance among the full corpus' top hits
    best_without_gold: float  # the best relevance once the gold chunk is gone
    still_answered_by_another: bool  # reference-answer check on the top hits without the gold chunk
    positives: list[list[float]] = field(default_factory=list)  # features of the gold hits (full corpus)
    negatives: list[list[float]] = field(default_factory=list)  # features of the hits without the gold chunk
    best_off_topic: float = 0.0  # the best relevance once the gold chunk's whole source document is gone
    off_topic_negatives: list[list[float]] = field(default_factory=list)  # the hits then


class Command(BaseCommand):
    help = "No-answer rate without the gold chunks and right-chunk answer rate with them (AutoRAG Korean set)."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default=str(settings.AUTORAG_DATASET_DIR))
        parser.add_argument("--questions", type=int, default=0, help="only the first N questions")
        parser.add_argument("--fit", action="store_true", help="refit the relevance model and score calibration")

    def handle(self, *args, **options):
        corpus, questions = load_dataset(Path(options["dataset"]))
        if options["questions"]:
            questions = questions[: options["questions"]]
        with throwaway_database("bench_no_answer", stdout=self.stdout):
            user = get_user_model().objects.create_user(username="bench-no-answer")
            rag_key = f"bench-no-answer-{uuid.uuid4().hex[:8]}"
            self.stdout.write(
                f"corpus {len(corpus)} chunks, {len(questions)} questions, floor {floor():g}, "
                f"replies by {get_llm().model}"
            )
            ingest_corpus(corpus, rag_key=rag_key, owner=user, stdout=self.stdout)
            started = time.perf_counter()
            rows = [self.ask(user, rag_key, question) for question in tqdm(questions, desc="ask", disable=None)]
            self.stdout.write(f"asked {2 * len(rows)} questions in {time.perf_counter() - started:.1f}s")
            self.report(rows)
            self.report_unrelated(user, rag_key)
            if options["fit"]:
                self.fit_relevance(rows)
                self.fit_calibration(user, rag_key, questions)

    def ask(self, user, rag_key: str, question: dict) -> Row:
        """Both replies to one question, with the relevance behind them."""
        full = judged(user, rag_key, question["query"])
        full_reply = ask(user, rag_key, question["query"])
        with transaction.atomic():
            Document.objects.filter(rag_key=rag_key, owner=user, doc_id__in=question["relevant"]).delete()
            without = judged(user, rag_key, question["query"])
            without_reply = ask(user, rag_key, question["query"])
            # (c) the whole source document (every page of the gold chunk's PDF) gone: the corpus lacks the topic
            sources = {source_of(doc_id) for doc_id in question["relevant"]}
            documents = Document.objects.filter(rag_key=rag_key, owner=user)
            same_source = [
                doc_id for doc_id in documents.values_list("doc_id", flat=True) if source_of(doc_id) in sources
            ]
            documents.filter(doc_id__in=same_source).delete()
            off_topic = judged(user, rag_key, question["query"])
            transaction.set_rollback(True)
        gold = [i for i, hit in enumerate(full.candidates) if hit.doc_id in question["relevant"]]
        return Row(
            half=half_of(question["qid"]),
            no_answer_without_gold=without_reply.answer == knowledge_chat.NO_CONTEXT_ANSWER,
            right_chunk=any(source["doc_id"] in question["relevant"] for source in full_reply.sources),
            gold_relevance=max((full.relevance[i] for i in gold), default=None),
            best_without_gold=max(without.relevance, default=0.0),
            still_answered_by_another=holds_the_answer(question, without.candidates),
            positives=[full.features[i] for i in gold],
            negatives=without.features,
            best_off_topic=max(off_topic.relevance, default=0.0),
            off_topic_negatives=off_topic.features,
        )

    def report(self, rows: list[Row]) -> None:
        self.stdout.write(f"at RAG_RELEVANCE_FLOOR={floor():g} (chat replies; targets (a) >= 90 %, (b) >= 95 %):")
        self.stdout.write(f"  {'half':<10}{'questions':>10}{'(a) no-answer':>16}{'(b) right chunk':>18}")
        for name, part in halves(rows):
            a = share(row.no_answer_without_gold for row in part)
            b = share(row.right_chunk for row in part)
            self.stdout.write(f"  {name:<10}{len(part):>10}{a:>16.1%}{b:>18.1%}")
        for name, part in halves(rows):
            c = share(row.best_off_topic < floor() for row in part)
            self.stdout.write(f"  (c) no-answer without the whole source document, {name} half: {c:.1%}")
        self.stdout.write("other floors (relevance of the same searches), fit half | held-out half:")
        self.stdout.write(f"  {'floor':>7}{'(a) fit':>10}{'(b) fit':>10}{'(a) held':>11}{'(b) held':>11}")
        for candidate in sorted({*SWEEP, floor()}):
            figures = [f for _, part in halves(rows) for f in trade_off(part, candidate)]
            self.stdout.write(
                f"  {candidate:>7g}" + "".join(f"{f:>10.1%}" if i < 2 else f"{f:>11.1%}" for i, f in enumerate(figures))
            )
        others = [row for row in rows if row.still_answered_by_another]
        self.stdout.write(
            f"reference-answer check: without its gold chunk, {len(others)} of {len(rows)} questions still have a "
            f"top hit holding >= {ANSWER_WORDS_HELD:.0%} of the words their reference answer adds to the question; "
            f"(a) over the other {len(rows) - len(others)}: "
            f"{share(row.no_answer_without_gold for row in rows if not row.still_answered_by_another):.1%}"
        )

    def report_unrelated(self, user, rag_key: str) -> None:
        self.stdout.write("questions unrelated to the corpus (best score, best relevance, reply):")
        for query in UNRELATED:
            grounding = judged(user, rag_key, query)
            best_score = max((hit.score for hit in grounding.candidates), default=0.0)
            no_answer = ask(user, rag_key, query).answer == knowledge_chat.NO_CONTEXT_ANSWER
            self.stdout.write(
                f"  {query:<20} {best_score:8.4f} {max(grounding.relevance, default=0.0):8.4f}  "
                f"{'no-answer' if no_answer else 'answered'}"
            )

    def fit_relevance(self, rows: list[Row]) -> None:
        """Logistic regression on the fit half's hits. The floor: the highest keeping (b) >= FIT_TARGET_ANSWERED
        on the fit half judged out of fold (each question by a model fitted without it, FOLDS folds), so the floor
        allows for the model's own fitting noise without looking at the held-out half."""
        fit_rows = [row for row in rows if row.half == HALVES[0]]
        out_of_fold = [
            rejudged(row, fitted_model([other for j, other in enumerate(fit_rows) if j % FOLDS != i % FOLDS]))
            for i, row in enumerate(fit_rows)
        ]
        chosen = max(
            (c for c in FLOOR_GRID if trade_off(out_of_fold, c)[1] >= FIT_TARGET_ANSWERED), default=FLOOR_GRID[0]
        )
        fitted = fitted_model(fit_rows)
        hits = sum(len(row.positives) + len(row.negatives) + len(row.off_topic_negatives) for row in fit_rows)
        self.stdout.write(f"fitted RELEVANCE_MODEL = {fitted} over {relevance.FEATURES} on {hits} fit-half hits")
        self.stdout.write(f"  (in use: {relevance.RELEVANCE_MODEL})")
        self.stdout.write(f"  floor keeping (b) >= {FIT_TARGET_ANSWERED:.0%} out of fold on the fit half: {chosen:g}")
        for name, part in halves([rejudged(row, fitted) for row in rows]):
            a, b = trade_off(part, chosen)
            self.stdout.write(f"  refitted, floor {chosen:g}, {name} half: (a) {a:.1%}, (b) {b:.1%}")

    def fit_calibration(self, user, rag_key: str, questions: list[dict]) -> None:
        """Logistic regression (Newton) of gold-or-not on the uncalibrated fused score of the candidates."""
        raw, labels = [], []
        for question in questions:
            for hit in retrieve(user, rag_key, question["query"], limit=FIT_DEPTH):
                raw.append(uncalibrated(hit.score))
                labels.append(1.0 if hit.doc_id in question["relevant"] else 0.0)
        x = np.column_stack([np.array(raw), np.ones(len(raw))])
        y = np.array(labels)
        weights = np.zeros(2)
        for _ in range(50):
            p = 1.0 / (1.0 + np.exp(-x @ weights))
            hessian = x.T @ (x * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
            weights -= np.linalg.solve(hessian, x.T @ (p - y))
        slope, intercept = (round(float(value), 2) for value in weights)
        self.stdout.write(
            f"fitted HYBRID_CALIBRATION = ({slope}, {intercept}) on {len(raw)} candidates "
            f"(in use: {search.HYBRID_CALIBRATION})"
        )


def floor() -> float:
    return settings.RAG_RELEVANCE_FLOOR


def half_of(qid: str) -> str:
    """The stable split: the fit half when the first byte of sha256(qid) is even."""
    return HALVES[hashlib.sha256(str(qid).encode()).digest()[0] % 2]


def halves(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    return [(name, [row for row in rows if row.half == name]) for name in HALVES]


def share(flags) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else 0.0


def trade_off(rows: list[Row], candidate: float) -> tuple[float, float]:
    """(a) and (b) at another floor, from the relevance of the same searches."""
    a = share(row.best_without_gold < candidate for row in rows)
    b = share(row.gold_relevance is not None and row.gold_relevance >= candidate for row in rows)
    return a, b


def fitted_model(rows: list[Row]) -> dict:
    """RELEVANCE_MODEL fitted on these questions' hits (scikit-learn LogisticRegression, C=1)."""
    from sklearn.linear_model import LogisticRegression

    x, y = [], []
    for row in rows:
        negatives = row.negatives + row.off_topic_negatives
        x += row.positives + negatives
        y += [1] * len(row.positives) + [0] * len(negatives)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(np.array(x), np.array(y))
    return {
        "weights": tuple(round(float(w), 2) for w in model.coef_[0]),
        "intercept": round(float(model.intercept_[0]), 2),
    }


def rejudged(row: Row, model: dict) -> Row:
    """The row as another relevance model would have judged the same hits."""
    gold = relevance.probabilities(row.positives, model)
    without = relevance.probabilities(row.negatives, model)
    return Row(
        half=row.half, no_answer_without_gold=False, right_chunk=False,
        gold_relevance=max(gold, default=None), best_without_gold=max(without, default=0.0),
        still_answered_by_another=row.still_answered_by_another,
    )  # fmt: skip


def holds_the_answer(question: dict, hits) -> bool:
    """Whether one of the hits holds ANSWER_WORDS_HELD of the content morphemes that the reference answer
    adds to the question (a sign that the corpus answers it without the gold chunk)."""
    words = set(kiwi_morphemes(" ".join(question["answers"]))) - set(kiwi_morphemes(question["query"]))
    if not words:
        return False
    return any(len(words & set(kiwi_morphemes(hit.content))) >= ANSWER_WORDS_HELD * len(words) for hit in hits)


def source_of(doc_id: str) -> str:
    """The document a corpus chunk comes from: "finance - guide.pdf - 4" -> "finance - guide.pdf"."""
    return doc_id.rsplit(" - ", 1)[0]


def retrieve(user, rag_key: str, query: str, limit: int = knowledge_chat.RETRIEVAL_LIMIT):
    """The knowledge chat's own search (same scope and limit)."""
    return search.search(user=user, rag_key=rag_key, rag_type=RagType.USER_ISOLATED, query=query, limit=limit)


def judged(user, rag_key: str, query: str) -> relevance.Grounding:
    return relevance.ground(query, retrieve(user, rag_key, query))


def ask(user, rag_key: str, query: str):
    return knowledge_chat.chat(user=user, message=query, rag_key=rag_key, rag_type=RagType.USER_ISOLATED)


def uncalibrated(score: float) -> float:
    """The fused score behind a calibrated hybrid score (the inverse of search.calibrated)."""
    slope, intercept = search.HYBRID_CALIBRATION
    score = min(max(score, 1e-12), 1 - 1e-12)
    return (math.log(score / (1 - score)) - intercept) / slope
