"""Benchmark support: real training jobs kept running in a Celery worker subprocess (`bench_chat
--training-turns`), so chat latency can be measured while a job trains and while none does.

The worker consumes a queue of its own (this process routes `run_training_job` there), writes artifacts
to a temporary MODEL_STORE_DIR and uses the benchmark's throw-away database; its jobs never promote
(`auto_promote` false, no A/B), so what the chat serves does not change during the measurement.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

from config.benchmarks import database_url
from config.celery import app as celery_app
from ml_training.models import TrainingJob, TrainingJobStatus
from ml_training.services import jobs
from ml_training.services.worker import training_worker

S = TrainingJobStatus
RUNNING = (S.PREPARING, S.TRAINING, S.EVALUATING)
NEVER_PROMOTE = {"auto_promote": False, "ab_percentage_if_inconclusive": 0}


class TrainingInBackground:
    """`with TrainingInBackground(db_name) as training:` a worker is up; `training.start()` makes sure a
    job is training (scheduling the next one when the last finished), `training.stop()` cancels it and
    waits until none runs."""

    def __init__(
        self, database_name: str, *, model_type: str = "nlu", config: dict | None = None, priority: str = "low"
    ):
        self.database_name = database_name
        self.priority = priority  # ml_training.services.worker.PRIORITIES; "low" is how `make run` runs it
        self.model_type = model_type
        self.config = {**(config or {}), **NEVER_PROMOTE}
        self.queue = f"bench-training-{os.getpid()}"
        self.worker: subprocess.Popen | None = None
        self.store = None
        self.scheduled = 0

    def __enter__(self) -> "TrainingInBackground":
        # Set before this process publishes anything: Celery caches its default queue at first use.
        celery_app.conf.task_default_queue = self.queue
        celery_app.conf.task_routes = {"ml_training.run_training_job": {"queue": self.queue}}
        routed = celery_app.amqp.router.route({}, "ml_training.run_training_job")["queue"].name
        if routed != self.queue:
            raise RuntimeError(f"training tasks would go to queue {routed!r}, not the benchmark worker's")
        self.store = tempfile.TemporaryDirectory(prefix="bench-models-")
        command, env = training_worker(
            sys.executable, queue=self.queue, hostname=f"{self.queue}@%h", loglevel="WARNING", priority=self.priority,
            env={**os.environ, "DATABASE_URL": database_url(self.database_name), "MODEL_STORE_DIR": self.store.name,
                 "LOG_LEVEL": "WARNING"},
        )  # fmt: skip
        self.worker = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop(timeout=30)
        finally:
            if self.worker.poll() is None:
                os.killpg(self.worker.pid, signal.SIGTERM)
                try:
                    self.worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.worker.pid, signal.SIGKILL)
                    self.worker.wait()
            self.store.cleanup()

    def _unfinished(self) -> TrainingJob | None:
        return TrainingJob.objects.filter(model_type=self.model_type, status__in=jobs.UNFINISHED).first()

    def is_training(self) -> bool:
        return TrainingJob.objects.filter(model_type=self.model_type, status__in=RUNNING).exists()

    def start(self, timeout: float = 120.0) -> None:
        """Return once a job is training (the worker has claimed it)."""
        deadline = time.monotonic() + timeout
        while not self.is_training():
            if self.worker.poll() is not None:
                raise RuntimeError("the benchmark's Celery worker exited")
            if self._unfinished() is None:
                jobs.schedule_job(self.model_type, config=self.config, created_by="bench_chat")
                self.scheduled += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {self.model_type} job started training within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self, *, cancel: bool = True, timeout: float = 120.0) -> None:
        """Cancel the unfinished job, if any (or let it finish), and return once it has stopped."""
        deadline = time.monotonic() + timeout
        while (job := self._unfinished()) is not None:
            if cancel and not job.cancel_requested:
                jobs.cancel(job, by="bench_chat")
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job.pk} still {job.status} {timeout:.0f} s after its cancel")
            time.sleep(0.05)

    def completed(self) -> int:
        return TrainingJob.objects.filter(model_type=self.model_type, status=S.COMPLETED).count()
