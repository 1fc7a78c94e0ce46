"""Benchmark the training-data export: rows/s and the process's peak memory (max RSS) after
exporting N/10 and then N rows, on a throw-away database: a chunked server-side cursor keeps the
peak where the small export left it, instead of growing with the row count.

    python manage.py bench_export [--rows 1000000] [--format jsonl] [--tracemalloc]
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection

from config.benchmarks import measure_stream, throwaway_database
from ml_training.models import DataQueueItem
from ml_training.services.export import FORMATS, ExportQuery, export_records, render

FILL = f"""
INSERT INTO {DataQueueItem._meta.db_table} (model_type, raw_data, quality_score, status, error_message, retry_count,
    source_table, source_id, channel, session_id, created_at, priority, review_reason, label_intent)
SELECT 'nlu', jsonb_build_object('input_text', '김민수님 ' || n || '번째 5천원으로 점심 뭐 먹지? 010-1234-5678',
           'intent', 'BUDGET_INQUIRY', 'confidence', 0.9, 'entities', jsonb_build_object('budget', 5000)),
       0.9, 'pending', '', 0, 'bench', n::text, 'dining', '', now(), 0, '', ''
FROM generate_series(%s, %s) AS n
"""


class Command(BaseCommand):
    help = "Export throughput and peak memory after N/10 and N rows (the peak should not grow with N)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--format", default="jsonl", choices=FORMATS)
        parser.add_argument(
            "--tracemalloc", action="store_true", help="also measure peak Python allocations (about 8x slower)"
        )

    def handle(self, *args, **options):
        total = options["rows"]
        with throwaway_database("bench_export", apps=("ml_training",), stdout=self.stdout):
            loaded = 0
            for size in (total // 10, total):
                started = time.perf_counter()
                with connection.cursor() as cursor:
                    cursor.execute(FILL, [loaded + 1, size])
                loaded = size
                self.stdout.write(f"loaded {size:,} rows in {time.perf_counter() - started:.1f} s")
                self._export(size, options["format"], options["tracemalloc"])

    def _export(self, rows: int, fmt: str, trace: bool) -> None:
        pieces = render(export_records(ExportQuery("nlu", days=1, min_quality=0)), fmt, "nlu")
        self.stdout.write(measure_stream(pieces, rows=rows, label=f"export as {fmt}", trace=trace))
