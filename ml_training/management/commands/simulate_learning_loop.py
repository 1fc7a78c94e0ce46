"""Run a learning loop end to end and print the numbers: the NLU loop (ml_training.services.simulation)
or, with --model recommendation, the re-ranker loop (ml_training.services.recommendation_simulation).

Everything is rolled back at the end (database rows; artifacts go to a temporary MODEL_STORE_DIR)
unless --keep is given.
"""

import tempfile

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from ml_training.services import recommendation_simulation, serving, simulation


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Simulate users, feedback, training, the promotion gate and serving of a new NLU or recommendation version."

    def add_arguments(self, parser):
        parser.add_argument("--model", choices=["nlu", "recommendation"], default="nlu")
        parser.add_argument(
            "--size", type=int, default=300,
            help="nlu: messages played (the model gets them wrong); recommendation: recommendations acted on",
        )  # fmt: skip
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--keep", action="store_true", help="keep the rows and the new version")

    def handle(self, *args, model, size, users, keep, **options):
        def run():
            if model == "recommendation":
                self._report_recommendation(
                    recommendation_simulation.run_loop(requests=size, users=users, log=self.stdout.write)
                )
            else:
                self._report(simulation.run_loop(size=size, users=users, log=self.stdout.write))

        if keep:
            run()
            return
        with tempfile.TemporaryDirectory() as store:
            settings.MODEL_STORE_DIR = store
            try:
                with transaction.atomic():
                    run()
                    raise Rollback
            except Rollback:
                self.stdout.write("rolled back (use --keep to keep the new version)")
            finally:
                serving.forget()

    def _report(self, report: simulation.LoopReport) -> None:
        job = report.job
        self.stdout.write(
            f"\nfrozen test split ({report.after.get('examples')} examples):\n"
            f"  before  accuracy {report.before['accuracy']:.4f}  macro-F1 {report.before['macro_f1']:.4f}\n"
            f"  after   accuracy {report.after['accuracy']:.4f}  macro-F1 {report.after['macro_f1']:.4f}"
            f"  (version {report.served_version}, {job.metrics['winner']})\n"
            f"train time {job.metrics['train_seconds']} s for {job.train_count} training rows "
            f"(candidates: {job.metrics['candidates']})\n"
            f"understand() p50: before {report.inference_p50_ms['before']} ms, "
            f"after {report.inference_p50_ms['after']} ms\n"
            f"gate: {job.promotion['decision']} ({job.promotion['reason']})\n"
            f"worse model: {report.worse_job.promotion['decision']} ({report.worse_job.promotion['reason']})"
        )

    def _report_recommendation(self, report: recommendation_simulation.RecommendationLoopReport) -> None:
        job, worse = report.job, report.worse_job
        if job.status != "completed":
            self.stdout.write(f"\njob {job.pk} {job.status}: {job.error_message}")
            return
        metrics, bootstrap = job.metrics, job.metrics["bootstrap"]
        before, after = metrics["champion_frozen_test"], metrics["frozen_test"]
        share = report.top_share
        self.stdout.write(
            f"\nfrozen test split ({metrics['split']['version']}, the newest {after['queries']} of "
            f"{sum(metrics['data'].values())} recommendations):\n"
            f"  hand-tuned  NDCG@5 {before['ndcg@5']:.4f}  HitRate@3 {before['hit_rate@3']:.4f}\n"
            f"  re-ranker   NDCG@5 {after['ndcg@5']:.4f}  HitRate@3 {after['hit_rate@3']:.4f}"
            f"  (version {report.served_version}, {metrics['winner']})\n"
            f"  NDCG@5 gain {bootstrap['gain']:+.4f}, {bootstrap['confidence']:.0%} bootstrap CI "
            f"[{bootstrap['ci_low']:+.4f}, {bootstrap['ci_high']:+.4f}] ({bootstrap['samples']} resamples)\n"
            f"weights: {metrics['weights']}\n"
            f"train time {metrics['train_seconds']} s for {job.train_count + job.validation_count} queries\n"
            f"online, the pick was shown first / in the top 3: hand-tuned {share(report.selected_rank_before, 1):.1%}"
            f" / {share(report.selected_rank_before, 3):.1%} ({len(report.selected_rank_before)} picks), "
            f"re-ranker {share(report.selected_rank_after, 1):.1%} / {share(report.selected_rank_after, 3):.1%} "
            f"({len(report.selected_rank_after)} picks)\n"
            f"gate: {job.promotion['decision']} ({job.promotion['reason']})\n"
            f"worse model (popularity only): {worse.promotion['decision']} ({worse.promotion['reason']})"
        )
