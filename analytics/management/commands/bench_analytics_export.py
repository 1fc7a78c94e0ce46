"""Benchmark the streamed log export (the staff API's CSV/JSON): rows/s and the process's peak memory
after exporting N/10 and then N message logs, on a throw-away database; a flat peak shows it streams.

    python manage.py bench_analytics_export [--logs 1000000] [--format csv|json] [--tracemalloc]
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics import traffic
from analytics.models import MessageLog
from analytics.services import exports
from config.benchmarks import measure_stream, throwaway_database


class Command(BaseCommand):
    help = "Log export throughput and peak memory after N/10 and N logs (the peak should not grow with N)."

    def add_arguments(self, parser):
        parser.add_argument("--logs", type=int, default=1_000_000, help="message logs in the larger export")
        parser.add_argument("--format", default=exports.CSV, choices=exports.FORMATS)
        parser.add_argument("--tracemalloc", action="store_true", help="also peak Python allocations (slower)")

    def handle(self, *args, **options):
        total = options["logs"]
        with throwaway_database("bench_analytics_export", apps=("analytics",), stdout=self.stdout):
            start = timezone.now() - timedelta(days=2)
            for size, prefix in ((total // 10, "small-"), (total - total // 10, "large-")):
                traffic.generate(traffic.Traffic(start=start, days=1, exchanges=size // 2, prefix=prefix))
                rows = MessageLog.objects.count()
                self.stdout.write(f"{rows:,} message logs in the database")
                rows_out = exports.rows_of(MessageLog.objects.order_by("created_at", "id"), exports.LOG_FIELDS)
                pieces = exports.stream(rows_out, exports.LOG_FIELDS, options["format"])
                label = f"log export as {options['format']}"
                self.stdout.write(measure_stream(pieces, rows=rows, label=label, trace=options["tracemalloc"]))
