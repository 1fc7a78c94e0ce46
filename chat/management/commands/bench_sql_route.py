"""Print how fast the admin SQL route's guard and read-only runner are (nothing is written).

    python manage.py bench_sql_route [--repeat 20]
"""

import statistics
import time

from django.core.management.base import BaseCommand

from chat.services.router import SQL_TEMPLATES
from chat.services.sql_guard import UnsafeSqlError, ensure_reader_role, execute_readonly, validate_select
from chat.tests.hostile_sql import HOSTILE_SQL


class Command(BaseCommand):
    help = "Benchmark validate_select on the hostile list and the offline templates, and execute_readonly latency."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=20)

    def handle(self, *args, repeat: int, **options):
        rejected = 0
        started = time.perf_counter()
        for _ in range(repeat):
            for sql in HOSTILE_SQL:
                try:
                    validate_select(sql)
                except UnsafeSqlError:
                    rejected += 1
        hostile_us = (time.perf_counter() - started) / (repeat * len(HOSTILE_SQL)) * 1e6
        self.stdout.write(
            f"hostile statements: {len(HOSTILE_SQL)}, rejected {rejected // repeat} "
            f"({hostile_us:.0f} us per validation)"
        )

        templates = [validate_select(sql) for _, sql in SQL_TEMPLATES]
        started = time.perf_counter()
        for _ in range(repeat):
            for sql in SQL_TEMPLATES:
                validate_select(sql[1])
        self.stdout.write(
            f"template validation: {(time.perf_counter() - started) / (repeat * len(templates)) * 1e6:.0f} us per query"
        )

        role = ensure_reader_role()
        timings = []
        for _ in range(repeat):
            for sql in templates:
                started = time.perf_counter()
                execute_readonly(sql)
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        self.stdout.write(
            f"execute_readonly ({'reader role' if role else 'READ ONLY only'}), {len(timings)} runs: "
            f"p50 {statistics.median(timings):.2f} ms, p95 {timings[int(len(timings) * 0.95) - 1]:.2f} ms"
        )
