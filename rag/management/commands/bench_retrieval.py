"""Retrieval quality on the public Korean AutoRAG set: recall@1/3/5 and MRR per search mode.

    python manage.py bench_retrieval [--dataset ../shared/datasets/autorag_ko] [--text-weight 0.7]

The corpus (720 chunks) is ingested as shared documents of a throw-away rag_key with the configured
embedder, the 114 questions are searched in vector-only, text-only (BM25) and hybrid mode, and the rag_key
is deleted afterwards. A hit is the corpus doc_id of a returned chunk (ranks are per document).
"""

import ast
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from rag.models import Document, RagType
from rag.services import cache, ingest, search

KS = (1, 3, 5)


def _as_list(value):
    return ast.literal_eval(value) if isinstance(value, str) else value


def load_dataset(path: Path) -> tuple[list[dict], list[dict]]:
    import pyarrow.parquet as pq

    corpus_file, qa_file = path / "ocr_corpus_v3.parquet", path / "qa_v4.parquet"
    if not corpus_file.exists() or not qa_file.exists():
        raise CommandError(f"{path} must contain ocr_corpus_v3.parquet and qa_v4.parquet")
    corpus = pq.read_table(corpus_file, columns=["doc_id", "contents"]).to_pylist()
    questions = []
    for row in pq.read_table(qa_file, columns=["qid", "query", "retrieval_gt", "generation_gt"]).to_pylist():
        relevant = {doc for group in _as_list(row["retrieval_gt"]) for doc in _as_list(group)}
        answers = list(_as_list(row["generation_gt"]) or [])
        questions.append({"qid": row["qid"], "query": row["query"], "relevant": relevant, "answers": answers})
    return corpus, questions


def ingest_corpus(corpus: list[dict], *, rag_key: str, owner=None, stdout=None) -> None:
    """Every corpus row as a document of rag_key (shared, or `owner`'s isolated ones), chunked and embedded now."""
    rag_type = RagType.CHATBOT_SHARED if owner is None else RagType.USER_ISOLATED
    started = time.perf_counter()
    for row in tqdm(corpus, desc="ingest", unit="doc", disable=None):
        document = Document.objects.create(
            owner=owner, rag_key=rag_key, rag_type=rag_type, filename=row["doc_id"][:255],
            doc_id=row["doc_id"], content=row["contents"], content_hash=ingest.content_hash(row["contents"]),
            source_type="benchmark",
        )  # fmt: skip
        ingest.process_document(document.pk, extract_graph=False)
    if stdout is not None:
        stdout.write(f"ingested in {time.perf_counter() - started:.1f}s")


def evaluate(
    rag_key: str, questions: list[dict], mode: str, depth: int = 20, ranking=search.DEFAULT_RANKING
) -> dict:
    reciprocal, hits_at = 0.0, dict.fromkeys(KS, 0)
    started = time.perf_counter()
    for question in questions:
        results = search.search(
            user=None, rag_key=rag_key, rag_type=RagType.CHATBOT_SHARED, query=question["query"],
            limit=depth, mode=mode, ranking=ranking,
        )  # fmt: skip
        ranked = list(dict.fromkeys(hit.doc_id for hit in results))
        rank = next((i for i, doc in enumerate(ranked, start=1) if doc in question["relevant"]), None)
        if rank:
            reciprocal += 1.0 / rank
            for k in KS:
                hits_at[k] += rank <= k
    count = len(questions)
    return {
        **{f"R@{k}": hits_at[k] / count for k in KS},
        "MRR": reciprocal / count,
        "ms/query": 1000 * (time.perf_counter() - started) / count,
    }


class Command(BaseCommand):
    help = "Recall@1/3/5 and MRR of vector-only, BM25-only and hybrid search on the AutoRAG Korean set."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default=str(settings.AUTORAG_DATASET_DIR))
        parser.add_argument("--text-weight", type=float, nargs="*", help="hybrid text weights to compare")
        parser.add_argument("--questions", type=int, default=0, help="only the first N questions")

    def handle(self, *args, **options):
        corpus, questions = load_dataset(Path(options["dataset"]))
        if options["questions"]:
            questions = questions[: options["questions"]]
        rag_key = f"bench-autorag-{uuid.uuid4().hex[:8]}"
        self.stdout.write(f"corpus {len(corpus)} chunks, {len(questions)} questions, rag_key {rag_key}")
        try:
            ingest_corpus(corpus, rag_key=rag_key, stdout=self.stdout)
            rows = [("vector", "vector", search.DEFAULT_RANKING), ("text (BM25)", "text", search.DEFAULT_RANKING)]
            weights = options["text_weight"] or [search.TEXT_WEIGHT]
            rows += [(f"hybrid w_text={w}", "hybrid", search.RankingParams(text_weight=w)) for w in weights]
            self.stdout.write(f"{'mode':<22}{'R@1':>7}{'R@3':>7}{'R@5':>7}{'MRR':>7}{'ms/q':>8}")
            for label, mode, ranking in rows:
                cache.bump_shared_version(rag_key)  # every run searches afresh
                result = evaluate(rag_key, questions, mode, ranking=ranking)
                self.stdout.write(
                    f"{label:<22}{result['R@1']:>7.3f}{result['R@3']:>7.3f}{result['R@5']:>7.3f}"
                    f"{result['MRR']:>7.3f}{result['ms/query']:>8.1f}"
                )
        finally:
            deleted, _ = Document.objects.filter(rag_key=rag_key).delete()
            self.stdout.write(f"cleaned up rag_key {rag_key} ({deleted} rows)")
