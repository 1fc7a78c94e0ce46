"""Print how long GET /api/v1/health takes, next to the Celery ping it no longer waits for.

    python manage.py bench_health [--requests 200] [--pings 3]
"""

import logging
import statistics
import time

from django.core.management.base import BaseCommand
from django.test import Client

from config.celery import app as celery_app


def _milliseconds(run, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


class Command(BaseCommand):
    help = "Benchmark the health endpoint (heartbeat check) against a Celery control ping (the old check)."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=200)
        parser.add_argument("--pings", type=int, default=3)

    def handle(self, *args, requests: int, pings: int, **options):
        client = Client(HTTP_HOST="localhost")
        logging.getLogger("django.request").setLevel(logging.CRITICAL)  # a 503 (no worker) is not news here
        status = client.get("/api/v1/health")
        self.stdout.write(f"health now: {status.status_code} {status.json()}")
        health = _milliseconds(lambda: client.get("/api/v1/health"), requests)
        ping = _milliseconds(lambda: celery_app.control.ping(timeout=1.0), pings)
        p50, p95 = statistics.median(health), health[max(0, int(len(health) * 0.95) - 1)]
        self.stdout.write(f"GET /api/v1/health, {requests} requests in-process: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
        self.stdout.write(
            f"celery control.ping(timeout=1.0), {pings} calls: p50 {statistics.median(ping):.0f} ms "
            f"(what every health request used to wait); ratio {statistics.median(ping) / p50:.0f}x"
        )
