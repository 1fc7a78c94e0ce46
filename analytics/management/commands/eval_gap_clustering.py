"""Measure the knowledge-gap clustering on the labelled Korean questions in analytics/data/.

    python manage.py eval_gap_clustering [--data analytics/data/gap_questions_ko.json]

Prints the adjusted Rand index, the normalised mutual information and the share of true groups
recovered (see `question_clusters.recovered_groups`), and how long clustering took.
"""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from analytics.services import question_clusters

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "data" / "gap_questions_ko.json"


class Command(BaseCommand):
    help = "ARI / NMI / groups recovered of the question clustering on a labelled Korean set."

    def add_arguments(self, parser):
        parser.add_argument("--data", default=str(DEFAULT_DATA))

    def handle(self, *args, **options):
        try:
            groups = json.loads(Path(options["data"]).read_text(encoding="utf-8"))["groups"]
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"--data: {exc}") from None
        questions = [q for group in groups for q in group["questions"]]
        truth = [group["label"] for group in groups for _ in group["questions"]]
        started = time.perf_counter()
        predicted = question_clusters.cluster_questions(questions)
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"{len(questions)} questions in {len(groups)} labelled groups -> {len(set(predicted))} clusters "
            f"in {elapsed:.2f} s"
        )
        self.stdout.write(f"  ARI {adjusted_rand_score(truth, predicted):.3f}")
        self.stdout.write(f"  NMI {normalized_mutual_info_score(truth, predicted):.3f}")
        self.stdout.write(f"  groups recovered {question_clusters.recovered_groups(truth, predicted) * 100:.0f} %")
