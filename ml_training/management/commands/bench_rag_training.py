"""The rag trainer on the public AutoRAG Korean set, with feedback played by a user, in a throw-away database:

    python manage.py bench_rag_training [--questions N] [--autorag-sample N]

1. The corpus is ingested as one user's documents; the user asks each question in the knowledge chat and
   marks the gold document helpful when it is among the sources (otherwise gives a 👎, which labels nothing).
2. The rag trainer runs on those feedback-labelled queries (grid search, held-out slice, AutoRAG gate) and
   its log is printed: held-out and AutoRAG MRR before (the champion: the built-in parameters) and after.
3. Side by side on the training queries: one parameter set scored by running `search()` per query (SQL)
   and by re-scoring the candidates read once (`rag_rescoring`), and what the whole grid would cost in SQL.
"""

import time
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from tqdm import tqdm

from chat.services import knowledge_chat
from config.benchmarks import throwaway_database
from ml_training.models import ModelType, TrainingJob
from ml_training.services import jobs, rag_rescoring, rag_trainer
from ml_training.services.feedback import FeedbackInput, check_knowledge_answer, give_feedback
from rag.management.commands.bench_retrieval import ingest_corpus, load_dataset
from rag.models import Document, RagType
from rag.services.search import DEFAULT_RANKING, search


class Command(BaseCommand):
    help = "Train the rag ranking on AutoRAG questions labelled by simulated feedback; before/after and speed."

    def add_arguments(self, parser):
        parser.add_argument("--questions", type=int, default=0, help="only the first N questions (0: all 114)")
        parser.add_argument("--autorag-sample", type=int, default=0, help="the trainer's AutoRAG sample (0: all)")

    def handle(self, *args, questions: int, autorag_sample: int, **options):
        corpus, asked = load_dataset(rag_trainer.autorag_dir())
        asked = asked[:questions] if questions else asked
        with throwaway_database("bench_rag_training", stdout=self.stdout):
            user = get_user_model().objects.create_user(username="bench-rag-training")
            rag_key = f"bench-rag-{uuid.uuid4().hex[:8]}"
            ingest_corpus(corpus, rag_key=rag_key, owner=user, stdout=self.stdout)
            labelled = self.play_feedback(user, rag_key, asked)
            self.stdout.write(f"{labelled} of {len(asked)} answers showed the gold document and were marked helpful")
            job = TrainingJob.objects.create(job_name="bench", model_type=ModelType.RAG, data_count=0)
            config = jobs.validate_config(ModelType.RAG, {"autorag_sample": autorag_sample})
            outcome = rag_trainer.run_job(job, config, lambda line, *a, **k: self.stdout.write(f"  | {line}"))
            self.report(outcome)
            self.compare_speed(config, outcome.metrics["grid"]["seconds"])

    def play_feedback(self, user, rag_key: str, asked: list[dict]) -> int:
        gold_ids = dict(Document.objects.filter(rag_key=rag_key).values_list("doc_id", "pk"))
        labelled = 0
        for question in tqdm(asked, desc="ask", disable=None):
            result = knowledge_chat.chat(user=user, message=question["query"], rag_key=rag_key,
                                         rag_type=RagType.USER_ISOLATED)  # fmt: skip
            shown = {source["document_id"] for source in result.sources}
            gold = next((gold_ids[doc] for doc in question["relevant"] if gold_ids.get(doc) in shown), None)
            given = FeedbackInput(helpful_source={"document_id": gold}) if gold else FeedbackInput(vote="down")
            give_feedback(check_knowledge_answer(user=user, message_id=result.message_id), given)
            labelled += gold is not None
        return labelled

    def report(self, outcome) -> None:
        metrics, decision = outcome.metrics, outcome.decision
        held = metrics["held_out"]
        self.stdout.write(f"learned: {outcome.manifest['default']}")
        self.stdout.write(f"{'':<44}{'before':>8}{'after':>8}")
        for name in ("mrr", "ndcg", "hit_rate"):
            label = f"held-out {name}@{metrics['depth']} ({held['queries']} q)"
            self.stdout.write(f"{label:<44}{held['champion'][name]:>8.4f}{held['candidate'][name]:>8.4f}")
        for name, row in metrics["autorag"]["mrr"].items():
            label = f"AutoRAG MRR {name} ({metrics['autorag']['questions']} q)"
            self.stdout.write(f"{label:<44}{row['champion']:>8.4f}{row['candidate']:>8.4f}")
        self.stdout.write(f"gate: {decision.decision} - {decision.reason}")

    def compare_speed(self, config: dict, grid_seconds: float) -> None:
        queries = [q for q in rag_trainer.labelled_queries() if not q.held_out]
        users = {q.user_id: get_user_model().objects.get(pk=q.user_id) for q in queries}
        depth = config["depth"]
        started = time.perf_counter()
        for q in queries:
            search(user=users[q.user_id], rag_key=q.rag_key, rag_type=q.rag_type, query=q.query, limit=depth,
                   ranking=DEFAULT_RANKING)  # fmt: skip
        sql = time.perf_counter() - started
        started = time.perf_counter()
        pools = rag_trainer.query_pools(queries, depth)
        read = time.perf_counter() - started
        started = time.perf_counter()
        rag_rescoring.evaluate(pools, lambda i: DEFAULT_RANKING, depth)
        rescored = time.perf_counter() - started
        combos = len(rag_trainer.grid(config))
        self.stdout.write(
            f"one parameter set over {len(queries)} training queries: search() {1000 * sql:.0f} ms, "
            f"re-scoring {1000 * rescored:.1f} ms ({sql / max(rescored, 1e-9):.0f}x) after reading the "
            f"candidates once ({1000 * read:.0f} ms)"
        )
        self.stdout.write(
            f"the {combos}-set grid: ~{combos * sql:.0f} s as searches vs {grid_seconds:.1f} s re-scored in the job "
            f"(+ {read:.1f} s reading the candidates once)"
        )
