"""Export the training-data queue, masked, with a progress bar (seed 003 §8.5).

    python manage.py export_training_data --model-type nlu --format jsonl|json|csv \\
        [--days 30] [--min-quality 0.7] [--output FILE]

Rows are read from a server-side cursor in chunks, so memory stays flat however many there are;
without --output the data goes to stdout (the progress bar to stderr).
"""

import sys
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ml_training.models import ModelType
from ml_training.services.export import FORMATS, ExportQuery, export_records, render


class Command(BaseCommand):
    help = "Export training data (masked) as JSONL, JSON or CSV."

    def add_arguments(self, parser):
        parser.add_argument("--model-type", required=True, choices=ModelType.values)
        parser.add_argument("--format", default="jsonl", choices=FORMATS)
        parser.add_argument("--days", type=int, default=30, help="rows queued in the last N days")
        parser.add_argument("--min-quality", default="0.7", help="rows with quality_score >= this (0-1)")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args, **options):
        try:
            min_quality = Decimal(options["min_quality"])
        except InvalidOperation as exc:
            raise CommandError("--min-quality must be a number between 0 and 1.") from exc
        if not 0 <= min_quality <= 1 or options["days"] < 1:
            raise CommandError("--min-quality must be between 0 and 1 and --days at least 1.")
        query = ExportQuery(options["model_type"], days=options["days"], min_quality=min_quality)
        total = query.queryset().count()
        records = tqdm(export_records(query), total=total, unit="row", desc="export", file=sys.stderr)
        pieces = render(records, options["format"], options["model_type"])
        if not options["output"]:
            for piece in pieces:
                self.stdout.write(piece, ending="")
            return
        with open(options["output"], "w", encoding="utf-8", newline="") as out:
            out.writelines(pieces)
        self.stderr.write(f"exported {total} {options['model_type']} rows to {options['output']}")
