"""Print how the masker does on its labelled Korean corpus (PII left, clean strings falsely masked).

python manage.py eval_masking [--show]
"""

from django.core.management.base import BaseCommand

from ml_training.services.masking import evaluate_corpus


class Command(BaseCommand):
    help = "Evaluate the personal-data masker on ml_training/data/masking_corpus.jsonl."

    def add_arguments(self, parser):
        parser.add_argument("--show", action="store_true", help="print every string with its masked form")

    def handle(self, *args, **options):
        report = evaluate_corpus()
        self.stdout.write(
            f"strings with PII: {report.pii_strings}, PII left in {len(report.pii_left)}; "
            f"clean strings: {report.clean_strings}, falsely masked {len(report.false_masks)} "
            f"({len(report.false_masks) / max(1, report.clean_strings):.1%})"
        )
        for label, cases in (("PII LEFT", report.pii_left), ("FALSE MASK", report.false_masks)):
            for text, masked in cases:
                self.stdout.write(f"  {label}: {text} -> {masked}")
