"""Run the learning loop end to end and print the numbers (see ml_training.services.simulation).

Everything is rolled back at the end (database rows; artifacts go to a temporary MODEL_STORE_DIR)
unless --keep is given.
"""

import tempfile

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from ml_training.services import serving, simulation


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Simulate users, staff corrections, training, the promotion gate and serving of a new NLU version."

    def add_arguments(self, parser):
        parser.add_argument("--size", type=int, default=300, help="messages played (the model gets them wrong)")
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--keep", action="store_true", help="keep the rows and the new version")

    def handle(self, *args, size, users, keep, **options):
        if keep:
            self._report(simulation.run_loop(size=size, users=users, log=self.stdout.write))
            return
        with tempfile.TemporaryDirectory() as store:
            settings.MODEL_STORE_DIR = store
            try:
                with transaction.atomic():
                    self._report(simulation.run_loop(size=size, users=users, log=self.stdout.write))
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
