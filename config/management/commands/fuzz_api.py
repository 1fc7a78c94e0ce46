"""Fuzz every operation of /api/schema/ with schemathesis as an end user, a staff user and a partner.

    python manage.py fuzz_api [--examples 50] [--persona user --persona staff --persona partner] [--seed N]

Runs in-process (WSGI) on a throw-away database with the demo data loaded, so that generated ids
sometimes hit real rows; prints each persona's request count, time and every failure (a 5xx, or a
response that contradicts the schema), and exits 1 when there was one. The test suite runs the same
with 3 examples per operation (config/tests/test_fuzzing.py).
"""

import logging
import os
import time
from contextlib import contextmanager

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from config.benchmarks import throwaway_database
from config.fuzzing import PERSONAS, fuzz, load_schema, persona_headers


class Command(BaseCommand):
    help = "Schema-driven fuzzing of the whole API (schemathesis), as each kind of caller."

    def add_arguments(self, parser):
        parser.add_argument("--examples", type=int, default=50, help="generated requests per operation (at most)")
        parser.add_argument("--persona", action="append", choices=PERSONAS, help="default: all three")
        parser.add_argument("--seed", type=int, help="other examples than the deterministic default")

    def handle(self, *args, examples, persona, seed, **options):
        with (
            throwaway_database("fuzz_api", stdout=self.stdout),
            override_settings(API_RATE_LIMIT="1000000/min", ALLOWED_HOSTS=["localhost"]),
        ):
            with open(os.devnull, "w") as quiet:
                call_command("load_demo", stdout=quiet)
            schema = load_schema()  # sets Django up again, logging included: quieten the 4xx after it
            with expected_client_errors_unlogged():
                failures = self.fuzz_personas(schema, persona or PERSONAS, examples=examples, seed=seed)
        if failures:
            raise CommandError(f"{failures} failing operation(s)")

    def fuzz_personas(self, schema, personas, *, examples: int, seed: int | None) -> int:
        failures = 0
        for name in personas:
            started = time.perf_counter()
            report = fuzz(schema, persona_headers(name), max_examples=examples, label=name, seed=seed)
            self.stdout.write(
                f"{name}: {report.requests} requests in {time.perf_counter() - started:.0f} s, "
                f"{len(report.failures)} failing operation(s)"
            )
            for line in report.lines():
                self.stdout.write(f"  {line}")
            failures += len(report.failures)
        return failures


@contextmanager
def expected_client_errors_unlogged():
    """A 4xx is the answer fuzzed input expects: django.request logs only the 5xx (ERROR) during the run."""
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        request_logger.setLevel(level)
