"""Fault run: chats on every channel while Redis is down and the Celery worker was killed, then recovery.

    python manage.py bench_faults [--chats 20] [--documents 5] [--recovery-timeout 180]

Everything runs on 127.0.0.1 against its own throw-away database and its OWN Redis (a second
redis-server under var/faults/, so the development Redis is never stopped):

1. starts that Redis, the real web server (2 worker processes) and a Celery worker with beat, loads
   the demo data, a user with a token and a partner with a key, warms up one chat per channel;
2. outage: stops Redis and kills the worker (SIGKILL); then sends --chats chats on each channel
   (dining `/chat`, knowledge `/rag/chat`, partner `/partners/chat/message` SSE) and uploads
   --documents documents, all of which must be answered without a 5xx;
3. recovery: starts Redis and a new worker, re-queues the documents the outage left pending (what
   the 10-minute beat job does, run now), and waits until the log outbox is drained (the worker's
   5 s flush) and the documents are ingested;
4. prints, per channel, answers by status and logs stored / answers given; documents ready /
   uploaded; the recovery times. Exits 1 unless there was no 5xx, every answer's log was stored and
   every document was ingested.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time

import aiohttp
import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from analytics.models import LogOutboxRecord, MessageLog
from chat.models import Partner, PartnerApiKey
from config import embedded
from config.benchmarks import LoadResult, api_token_for, database_url, drive_http_load, throwaway_database
from config.live_server import LiveServerProcess
from rag.models import Document

CHANNEL_REQUESTS = {
    "dining": (
        "/api/v1/chat",
        {"message": "5천원으로 점심 뭐 먹지?", "location": {"latitude": 37.5404, "longitude": 127.0692}},
    ),
    "knowledge": ("/api/v1/rag/chat", {"message": "급식카드 사용 한도가 얼마야?", "rag_key": "dining-guide"}),
    "partner": ("/api/v1/partners/chat/message", {"message": "내 상태 어떠니?"}),
}
PARTNER_SESSIONS = 4


def stream_outcome(status: int, body: bytes) -> int | str:
    """An SSE answer that ends in `event: error` failed even though its status was 200."""
    if status == 200 and b"event: error" in body:
        return "error event"
    return status


class FaultRedis:
    """A redis-server of this run only, on its own unix socket."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.socket = workdir / "redis.sock"
        self.url = f"unix://{self.socket}"

    def start(self) -> None:
        embedded.start_redis(self.socket, self.workdir / "redis.pid", self.workdir)

    def stop(self) -> None:
        with contextlib.suppress(redis.ConnectionError):  # shutdown closes the connection it was sent on
            redis.Redis(unix_socket_path=str(self.socket)).shutdown(nosave=True)


class Command(BaseCommand):
    help = "Chats on every channel with Redis stopped and the Celery worker killed; logs and documents after recovery."

    def add_arguments(self, parser):
        parser.add_argument("--chats", type=int, default=20, help="chats per channel during the outage")
        parser.add_argument("--documents", type=int, default=5, help="documents uploaded during the outage")
        parser.add_argument("--recovery-timeout", type=float, default=180.0)

    def handle(self, *args, chats, documents, recovery_timeout, **options):
        self.workdir = settings.VAR_DIR / "faults"
        self.workdir.mkdir(parents=True, exist_ok=True)
        fault_redis = FaultRedis(self.workdir)
        fault_redis.start()
        worker = None
        try:
            with throwaway_database("bench_faults", stdout=self.stdout) as name:
                self.env = {
                    "DATABASE_URL": database_url(name),
                    "REDIS_URL": fault_redis.url,
                    "DEBUG": "0",
                    "SECRET_KEY": secrets.token_urlsafe(48),
                    "API_RATE_LIMIT": "1000000/min",
                    "LOG_LEVEL": "ERROR",
                }
                self._load()
                with LiveServerProcess(workers=2, env=self.env) as server:
                    worker = self._start_worker()
                    self._warm_up(server.url)
                    outage = self._outage(server.url, fault_redis, worker, chats, documents)
                    fault_redis.start()
                    worker = self._start_worker()
                    recovered = self._recover(recovery_timeout)
                    self._report(outage, recovered, chats, documents)
        finally:
            if worker is not None:
                self._kill(worker)
            fault_redis.stop()

    # --- set-up ----------------------------------------------------------------------------------
    def _load(self) -> None:
        with open(os.devnull, "w") as quiet:
            call_command("load_demo", stdout=quiet)
        self.user_headers = {"Authorization": f"Token {api_token_for('faults-user')}"}
        partner = Partner.objects.create(partner_id="faults-partner", name="Faults partner")
        self.partner_headers = {"Authorization": f"Api-Key {PartnerApiKey.issue(partner)[1]}"}

    def _start_worker(self) -> subprocess.Popen:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat", "--pool", "solo",
                   "--loglevel", "ERROR"]  # fmt: skip
        with open(self.workdir / "worker.log", "a") as log:  # its reconnect complaints during the outage
            return subprocess.Popen(
                command, env={**os.environ, **self.env}, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )

    @staticmethod
    def _kill(worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

    def _chat(self, url: str, channel: str, count: int) -> LoadResult:
        path, body = CHANNEL_REQUESTS[channel]
        headers = self.partner_headers if channel == "partner" else self.user_headers

        def request_for(client: int, number: int):
            payload = {**body, "session_id": f"faults-{number % PARTNER_SESSIONS}"} if channel == "partner" else body
            return "POST", path, {"json": payload, "headers": headers}

        return drive_http_load(
            url, request_for, clients=4, seconds=300, max_requests=count,
            outcome_of=stream_outcome if channel == "partner" else None,
        )  # fmt: skip

    def _warm_up(self, url: str) -> None:
        for number in range(PARTNER_SESSIONS):
            session = {"session_id": f"faults-{number}", "hospital_id": "h-1", "user_uuid": f"u-{number}"}
            drive_http_load(
                url, lambda c, n, s=session: ("POST", "/api/v1/partners/chat/warmup",
                                              {"json": s, "headers": self.partner_headers}),
                clients=1, seconds=60, max_requests=1,
            )  # fmt: skip
        for channel in CHANNEL_REQUESTS:
            self._chat(url, channel, 2)
        deadline = time.monotonic() + 60
        while LogOutboxRecord.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.5)  # the warm-up's logs are written before the outage, so only its own are counted
        self.logs_before = self._logs_by_channel()
        self.documents_before = Document.objects.count()

    # --- the outage and the recovery ----------------------------------------------------------------
    def _outage(self, url: str, fault_redis: FaultRedis, worker, chats: int, documents: int) -> dict:
        fault_redis.stop()
        self._kill(worker)
        self.stdout.write("outage: Redis stopped, Celery worker killed")
        results = {channel: self._chat(url, channel, chats) for channel in CHANNEL_REQUESTS}

        def upload(client: int, number: int):
            form = aiohttp.FormData({"rag_key": "faults", "rag_type": "user_isolated"})
            form.add_field(
                "file",
                f"장애 중에 올린 문서 {number}: 급식카드 안내 보충 자료입니다.".encode(),
                filename=f"faults-{number}.txt",
            )
            return "POST", "/api/v1/rag/upload", {"data": form, "headers": self.user_headers}

        results["upload"] = drive_http_load(url, upload, clients=1, seconds=120, max_requests=documents)
        for channel, result in results.items():
            self.stdout.write(f"  {channel:9s} {result.summary()}")
        return results

    def _recover(self, timeout: float) -> dict:
        started = time.monotonic()
        self.stdout.write("recovery: Redis started, a new worker (with beat) started")
        # What the 10-minute beat job `rag.tasks.requeue_stale_documents` does, run now, in the
        # environment of the servers (their Redis is not this process's).
        requeue = ("from datetime import timedelta; from rag.services.ingest import requeue_stale_documents; "
                   "print(requeue_stale_documents(timedelta(0)))")  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "shell", "--no-imports", "-c", requeue],
            cwd=settings.BASE_DIR, env={**os.environ, **self.env}, check=True, capture_output=True,
        )  # fmt: skip
        times = {}
        deadline = started + timeout
        while time.monotonic() < deadline and len(times) < 2:
            if "logs" not in times and not LogOutboxRecord.objects.exists():
                times["logs"] = time.monotonic() - started
            pending = Document.objects.filter(rag_key="faults").exclude(status=Document.Status.READY).exists()
            if "documents" not in times and Document.objects.filter(rag_key="faults").exists() and not pending:
                times["documents"] = time.monotonic() - started
            time.sleep(0.5)
        return times

    def _logs_by_channel(self) -> dict[str, int]:
        assistant = MessageLog.objects.filter(message_type=MessageLog.MessageType.ASSISTANT)
        return {channel: assistant.filter(channel=channel).count() for channel in ("dining", "knowledge", "partner")}

    # --- report ------------------------------------------------------------------------------------
    def _report(self, outage: dict, recovered: dict, chats: int, documents: int) -> None:
        logs_after = self._logs_by_channel()
        ok = True
        self.stdout.write("")
        self.stdout.write(f"{'channel':10s} {'chats':>5s} {'5xx':>4s} {'logs stored':>12s}  answers")
        for channel in ("dining", "knowledge", "partner"):
            result = outage[channel]
            stored = logs_after[channel] - self.logs_before[channel]
            answered = result.outcomes.get(200, 0)
            ok &= result.server_errors == 0 and stored == answered == chats
            self.stdout.write(
                f"{channel:10s} {chats:5d} {result.server_errors:4d} {f'{stored} of {answered}':>12s}  "
                f"{dict(sorted(result.outcomes.items(), key=str))}"
            )
        uploaded = outage["upload"].outcomes.get(202, 0)
        ready = Document.objects.filter(rag_key="faults", status=Document.Status.READY).count()
        ok &= outage["upload"].server_errors == 0 and ready == uploaded == documents
        self.stdout.write(
            f"documents uploaded during the outage: {uploaded} of {documents}, ingested after it: {ready}"
        )
        self.stdout.write(
            "recovery: log outbox drained after "
            + (f"{recovered['logs']:.1f} s" if "logs" in recovered else "NOT within the timeout")
            + ", documents ingested after "
            + (f"{recovered['documents']:.1f} s" if "documents" in recovered else "NOT within the timeout")
        )
        self.stdout.write(f"machine load average: {' '.join(f'{value:.1f}' for value in os.getloadavg())}")
        if not ok:
            raise CommandError("the fault run did not hold: see the figures above")
