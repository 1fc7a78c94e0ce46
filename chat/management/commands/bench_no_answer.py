"""Does the knowledge chat know when the documents do not answer? Measured on the public AutoRAG set.

    python manage.py bench_no_answer [--dataset ../shared/datasets/autorag_ko] [--questions N] [--fit]

In a throw-away database the corpus is ingested as one user's documents, then every question is asked
through the knowledge chat (`knowledge_chat.chat`, local responder) twice:

(a) against the corpus WITHOUT its gold chunk(s) (deleted in a savepoint that is rolled back, so the
    BM25 statistics really lack them): a reply of NO_CONTEXT_ANSWER counts as no-answer;
(b) against the full corpus: answered from the right chunk when a gold chunk is among the grounding
    chunks (the sources, all at or above the relevance floor).

Both are printed at settings.RAG_RELEVANCE_FLOOR, with the same two figures for other floors computed
from the retrieval scores of the same searches, and the replies to a few questions unrelated to the
corpus. `--fit` refits search.HYBRID_CALIBRATION (logistic regression of "this candidate is a gold chunk"
on the fused score of the top 20 candidates per question).
"""

import math
import time
import uuid
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
from rag.services import search

SWEEP = (0.005, 0.01, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05, 0.1, 0.2, 0.3, 0.5)
FIT_DEPTH = 20
UNRELATED = ("전혀 관계없는 우주선 질문", "🚀", "은 는 이 가", "고양이 사료 추천해줘", "오늘 점심 뭐 먹지?")


class Command(BaseCommand):
    help = "No-answer rate without the gold chunks and right-chunk answer rate with them (AutoRAG Korean set)."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default=str(Path(settings.BASE_DIR).parent / "shared/datasets/autorag_ko"))
        parser.add_argument("--questions", type=int, default=0, help="only the first N questions")
        parser.add_argument("--fit", action="store_true", help="refit the hybrid score calibration and print it")

    def handle(self, *args, **options):
        corpus, questions = load_dataset(Path(options["dataset"]))
        if options["questions"]:
            questions = questions[: options["questions"]]
        with throwaway_database("bench_no_answer", stdout=self.stdout):
            user = get_user_model().objects.create_user(username="bench-no-answer")
            rag_key = f"bench-no-answer-{uuid.uuid4().hex[:8]}"
            self.stdout.write(f"corpus {len(corpus)} chunks, {len(questions)} questions, floor {floor():g}")
            ingest_corpus(corpus, rag_key=rag_key, owner=user, stdout=self.stdout)
            started = time.perf_counter()
            rows = [self.ask(user, rag_key, question) for question in tqdm(questions, desc="ask", disable=None)]
            self.stdout.write(f"asked {2 * len(rows)} questions in {time.perf_counter() - started:.1f}s")
            self.report(rows)
            self.report_unrelated(user, rag_key)
            if options["fit"]:
                self.fit(user, rag_key, questions)

    def ask(self, user, rag_key: str, question: dict) -> dict:
        """Both replies to one question, with the retrieval scores behind them."""
        full_hits = retrieve(user, rag_key, question["query"])
        full = ask(user, rag_key, question["query"])
        with transaction.atomic():
            Document.objects.filter(rag_key=rag_key, owner=user, doc_id__in=question["relevant"]).delete()
            without_hits = retrieve(user, rag_key, question["query"])
            without = ask(user, rag_key, question["query"])
            transaction.set_rollback(True)
        return {
            "no_answer_without_gold": without.answer == knowledge_chat.NO_CONTEXT_ANSWER,
            "right_chunk": any(source["doc_id"] in question["relevant"] for source in full.sources),
            "best_without_gold": max((hit.score for hit in without_hits), default=0.0),
            "gold_score": max((hit.score for hit in full_hits if hit.doc_id in question["relevant"]), default=None),
        }

    def report(self, rows: list[dict]) -> None:
        count = len(rows)
        no_answer = sum(row["no_answer_without_gold"] for row in rows) / count
        answered = sum(row["right_chunk"] for row in rows) / count
        self.stdout.write(f"at RAG_RELEVANCE_FLOOR={floor():g} (knowledge chat replies):")
        self.stdout.write(f"  (a) no-answer without the gold chunk   {no_answer:6.1%}   (target >= 90%)")
        self.stdout.write(f"  (b) answered from the right chunk      {answered:6.1%}   (target >= 95%)")
        self.stdout.write("other floors (from the same retrieval scores):")
        self.stdout.write(f"  {'floor':>7}{'(a) no-answer':>16}{'(b) right chunk':>18}")
        for candidate in sorted({*SWEEP, floor()}):
            a = sum(row["best_without_gold"] < candidate for row in rows) / count
            b = sum(row["gold_score"] is not None and row["gold_score"] >= candidate for row in rows) / count
            self.stdout.write(f"  {candidate:>7g}{a:>16.1%}{b:>18.1%}")

    def report_unrelated(self, user, rag_key: str) -> None:
        self.stdout.write("questions unrelated to the corpus (best score, reply):")
        for query in UNRELATED:
            best = max((hit.score for hit in retrieve(user, rag_key, query)), default=0.0)
            no_answer = ask(user, rag_key, query).answer == knowledge_chat.NO_CONTEXT_ANSWER
            self.stdout.write(f"  {query:<20} {best:8.4f}  {'no-answer' if no_answer else 'answered'}")

    def fit(self, user, rag_key: str, questions: list[dict]) -> None:
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


def retrieve(user, rag_key: str, query: str, limit: int = knowledge_chat.RETRIEVAL_LIMIT):
    """The knowledge chat's own search (same scope and limit)."""
    return search.search(user=user, rag_key=rag_key, rag_type=RagType.USER_ISOLATED, query=query, limit=limit)


def ask(user, rag_key: str, query: str):
    return knowledge_chat.chat(user=user, message=query, rag_key=rag_key, rag_type=RagType.USER_ISOLATED)


def uncalibrated(score: float) -> float:
    """The fused score behind a calibrated hybrid score (the inverse of search.calibrated)."""
    slope, intercept = search.HYBRID_CALIBRATION
    score = min(max(score, 1e-12), 1 - 1e-12)
    return (math.log(score / (1 - score)) - intercept) / slope
