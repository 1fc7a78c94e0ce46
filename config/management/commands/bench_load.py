"""Load benchmark: the real web server (`make run`'s uvicorn) with 1 and with N worker processes,
driven over loopback by C concurrent clients on the dining chat and on the knowledge chat.

    python manage.py bench_load [--workers N] [--clients 8] [--seconds 16] [--rounds 4] [--max-requests 3000]

1. creates database `bench_load_<pid>`, migrates it, loads the demo data (320 shops, the demo
   knowledge base) and `--users` accounts with tokens;
2. starts a 1-worker (unless --no-single) and an N-worker server side by side on free 127.0.0.1 ports
   (DEBUG off, rate limit off) and warms every worker up;
3. for each channel, drives C keep-alive clients (one asyncio loop, aiohttp) back to back against
   one server at a time, in alternating rounds (A B B A ...) that add up to --seconds (or
   --max-requests) per server, so that other load on the machine hits both alike; then the request
   floor: a bare `GET /api/v1/me`, one client, one request at a time;
4. prints requests/s, p50/p95/p99 and the status counts side by side, the CPU time per request of
   the server's processes and of the clients (this process), the share of the machine's CPU the
   run had to itself, the load average, the N/1 throughput ratio and whether the dining target
   holds; then drops the database. Exits 1 when any request got a 5xx or no HTTP answer.
"""

import contextlib
import os
import random
import secrets
import time
from dataclasses import dataclass

import psutil
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from chat.management.commands.bench_chat import CENTRES, MESSAGES, _point
from config.benchmarks import LoadResult, api_token_for, database_url, drive_http_load, percentile, throwaway_database
from config.env import env_int
from config.live_server import LiveServerProcess

KNOWLEDGE_QUESTIONS = [
    "급식카드 사용 한도가 얼마야?",
    "카드를 잃어버리면 어떻게 해?",
    "밤늦게 여는 가맹점 있어?",
    "쿠폰은 며칠 동안 쓸 수 있어?",
    "급식카드로 어디서 결제할 수 있어?",
]
DINING_TARGET_PER_S = 60
DINING_TARGET_P95_MS = 150
FLOOR_SECONDS = 3.0  # of sequential `GET /api/v1/me` per server and round


@dataclass
class CpuUse:
    """CPU seconds the server's processes, the clients and the whole machine spent during runs."""

    server_s: float = 0.0
    client_s: float = 0.0
    machine_s: float = 0.0

    @staticmethod
    def now(server_pid: int) -> tuple[float, float, float]:
        server = psutil.Process(server_pid)
        server_s = 0.0
        for process in [server, *server.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker uvicorn replaced just now
                server_s += sum(process.cpu_times()[:2])
        machine = psutil.cpu_times()
        busy = machine.user + machine.nice + machine.system + machine.irq + machine.softirq + machine.steal
        return server_s, sum(psutil.Process().cpu_times()[:2]), busy

    def add(self, before: tuple, after: tuple) -> "CpuUse":
        server_s, client_s, machine_s = (a - b for a, b in zip(after, before, strict=True))
        return CpuUse(self.server_s + server_s, self.client_s + client_s, self.machine_s + machine_s)

    def summary(self, requests: int) -> str:
        others_s = self.machine_s - self.server_s - self.client_s  # the database, Redis, other work
        return (
            f"CPU per request: server {self.server_s / requests * 1000:.1f} ms, clients "
            f"{self.client_s / requests * 1000:.1f} ms, everything else on the machine "
            f"{others_s / requests * 1000:.1f} ms (the database, Redis and other work)"
        )


class Command(BaseCommand):
    help = "Dining and knowledge chat throughput and latency over HTTP with 1 vs N web worker processes."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=env_int("WEB_CONCURRENCY", os.cpu_count() or 1))
        parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
        parser.add_argument("--seconds", type=float, default=16.0, help="time bound per channel and configuration")
        parser.add_argument(
            "--max-requests", type=int, default=3000, help="request bound per channel and configuration"
        )
        parser.add_argument("--rounds", type=int, default=4, help="the time is split into this many alternating rounds")
        parser.add_argument("--warmup-seconds", type=float, default=4.0)
        parser.add_argument("--users", type=int, default=64)
        parser.add_argument("--no-single", action="store_true", help="skip the 1-worker run")
        parser.add_argument("--keep-db", action="store_true")

    def handle(self, *args, **options):
        self.rng = random.Random(12)
        worker_counts = (
            [options["workers"]] if options["no_single"] or options["workers"] == 1 else [1, options["workers"]]
        )
        results: dict[tuple[int, str], tuple[LoadResult, tuple]] = {}
        cpu: dict[tuple[int, str], CpuUse] = {}
        with throwaway_database("bench_load", keep=options["keep_db"], stdout=self.stdout) as name:
            self.tokens = self._load(options["users"])
            env = {
                "DATABASE_URL": database_url(name),
                "DEBUG": "0",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "API_RATE_LIMIT": "1000000/min",  # one client sends many requests here on purpose
                "LOG_LEVEL": "WARNING",
            }
            with contextlib.ExitStack() as stack:
                # Both servers run at once (the idle one costs nothing) and take turns in short rounds,
                # A B B A ..., so that the load other work puts on the machine hits both alike.
                servers = {
                    workers: stack.enter_context(LiveServerProcess(workers=workers, env=env))
                    for workers in worker_counts
                }
                for server in servers.values():
                    self._warm_up(server.url, options)
                channels = (
                    ("dining", self._dining_request, options["clients"], options["seconds"]),
                    ("knowledge", self._knowledge_request, options["clients"], options["seconds"]),
                    ("floor /me", self._me_request, 1, FLOOR_SECONDS * options["rounds"]),
                )
                for channel, request_for, clients, seconds in channels:
                    for workers in self._round_order(worker_counts, options["rounds"]):
                        before = CpuUse.now(servers[workers].process.pid)
                        result = drive_http_load(
                            servers[workers].url,
                            request_for,
                            clients=clients,
                            seconds=seconds / options["rounds"],
                            max_requests=options["max_requests"] // options["rounds"],
                        )
                        cpu[(workers, channel)] = cpu.get((workers, channel), CpuUse()).add(
                            before, CpuUse.now(servers[workers].process.pid)
                        )
                        total = results.get((workers, channel), (LoadResult(), ()))[0].merged_with(result)
                        results[(workers, channel)] = (total, os.getloadavg())
                    for workers in worker_counts:
                        total, use = results[(workers, channel)][0], cpu[(workers, channel)]
                        self.stdout.write(f"workers {workers}  {channel:9s}  {total.summary()}")
                        self.stdout.write(f"                    {use.summary(len(total.latencies_ms))}")
        self._report(results, cpu, worker_counts, options["clients"])

    @staticmethod
    def _round_order(worker_counts: list[int], rounds: int) -> list[int]:
        """Each configuration `rounds` times, in ABBA order."""
        order = []
        for round_number in range(rounds):
            order += worker_counts if round_number % 2 == 0 else worker_counts[::-1]
        return order

    # --- data and requests ---------------------------------------------------------------------
    def _load(self, users: int) -> list[str]:
        started = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command("load_demo", stdout=quiet)
        tokens = [api_token_for(f"load{index:04d}") for index in range(users)]
        self.stdout.write(f"demo data and {users} users with tokens loaded in {time.perf_counter() - started:.1f} s")
        return tokens

    def _headers(self) -> dict:
        return {"Authorization": f"Token {self.rng.choice(self.tokens)}"}

    def _dining_request(self, client: int, number: int) -> tuple[str, str, dict]:
        lat, lng = _point(self.rng, self.rng.choice(list(CENTRES.values())))
        body = {"message": self.rng.choice(MESSAGES), "location": {"latitude": float(lat), "longitude": float(lng)}}
        return "POST", "/api/v1/chat", {"json": body, "headers": self._headers()}

    def _me_request(self, client: int, number: int) -> tuple[str, str, dict]:
        return "GET", "/api/v1/me", {"headers": self._headers()}

    def _knowledge_request(self, client: int, number: int) -> tuple[str, str, dict]:
        body = {"message": self.rng.choice(KNOWLEDGE_QUESTIONS), "rag_key": "dining-guide", "rag_type": "both"}
        return "POST", "/api/v1/rag/chat", {"json": body, "headers": self._headers()}

    def _warm_up(self, url: str, options) -> None:
        """Each user's first turn (onboarding, welcome coupon) and each worker's model loading happen here."""

        def first_turn(client: int, number: int) -> tuple[str, str, dict]:
            headers = {"Authorization": f"Token {self.tokens[(number - 1) % len(self.tokens)]}"}
            return "POST", "/api/v1/chat", {"json": {"message": "안녕"}, "headers": headers}

        drive_http_load(url, first_turn, clients=options["clients"], seconds=60, max_requests=len(self.tokens))
        for request_for in (self._dining_request, self._knowledge_request):
            drive_http_load(
                url, request_for, clients=options["clients"], seconds=options["warmup_seconds"], max_requests=10_000
            )

    # --- report --------------------------------------------------------------------------------
    def _report(self, results, cpu, worker_counts: list[int], clients: int) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"{os.cpu_count()} CPUs; {clients} concurrent clients (the floor: 1); server and client CPU ms per "
            "request; 'own' = the share of the machine's CPU time that the server and the clients used; "
            "load average (1/5/15 min) after each run"
        )
        self.stdout.write(
            f"{'channel':10s} {'workers':>7s} {'req/s':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} "
            f"{'server':>7s} {'client':>7s} {'own':>5s}  load"
        )
        for (workers, channel), (result, load) in sorted(results.items(), key=lambda item: (item[0][1], item[0][0])):
            use, requests = cpu[(workers, channel)], max(1, len(result.latencies_ms))
            own = (use.server_s + use.client_s) / use.machine_s if use.machine_s else 0.0
            self.stdout.write(
                f"{channel:10s} {workers:7d} {result.per_second:7.1f} {percentile(result.latencies_ms, 0.5):7.1f} "
                f"{percentile(result.latencies_ms, 0.95):7.1f} {percentile(result.latencies_ms, 0.99):7.1f} "
                f"{use.server_s / requests * 1000:7.1f} {use.client_s / requests * 1000:7.1f} {own:5.0%}  "
                + " ".join(f"{value:.1f}" for value in load)
            )
        if len(worker_counts) == 2:
            for channel in ("dining", "knowledge"):
                single, multi = results[(1, channel)][0], results[(worker_counts[1], channel)][0]
                self.stdout.write(
                    f"{channel}: {worker_counts[1]} workers / 1 worker: throughput "
                    f"x{multi.per_second / single.per_second:.2f}"
                )
        dining = results[(worker_counts[-1], "dining")][0]
        met = dining.per_second >= DINING_TARGET_PER_S and percentile(dining.latencies_ms, 0.95) <= DINING_TARGET_P95_MS
        self.stdout.write(
            f"dining target (>= {DINING_TARGET_PER_S} turns/s with p95 <= {DINING_TARGET_P95_MS} ms, "
            f"{worker_counts[-1]} workers): {'met' if met else 'NOT met'}"
        )
        failed = sum(result.server_errors for result, _ in results.values())
        if failed:
            raise CommandError(f"{failed} request(s) got a 5xx or no HTTP answer")
