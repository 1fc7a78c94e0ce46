"""The training worker `make run` starts beside the web runs at low CPU priority with one math thread."""

import os
import subprocess
import sys
import time

import psutil
import pytest

from ml_training.services.worker import training_worker


def started_worker(priority: str):
    command, env = training_worker(
        sys.executable, queue="test-training-worker", hostname="test-training-worker@%h", priority=priority
    )
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def worker_process(popen) -> psutil.Process:
    """The Celery process itself, once `nice` has set the niceness and replaced itself with it (same pid).
    Until then the pid shows the forked test process, an empty command line while it execs, or `nice`."""
    process = psutil.Process(popen.pid)
    deadline = time.monotonic() + 30
    while not is_celery(process.cmdline()):
        assert time.monotonic() < deadline, process.cmdline()
        time.sleep(0.05)
    return process


def is_celery(cmdline: list[str]) -> bool:
    return bool(cmdline) and cmdline[0] != "nice" and "celery" in cmdline


@pytest.fixture
def low_priority_worker():
    popen = started_worker("low")
    try:
        yield worker_process(popen)
    finally:  # also when it never became the worker: no Celery process outlives the test
        popen.kill()
        popen.wait()


def test_the_training_worker_runs_at_niceness_19(low_priority_worker):
    assert low_priority_worker.nice() == 19


def test_the_training_worker_math_libraries_use_one_thread(low_priority_worker):
    environ = low_priority_worker.environ()
    assert environ["OPENBLAS_NUM_THREADS"] == environ["OMP_NUM_THREADS"] == environ["MKL_NUM_THREADS"] == "1"


def test_the_normal_priority_worker_of_the_benchmark_is_not_niced():
    popen = started_worker("normal")
    try:
        process = worker_process(popen)
        assert process.nice() == psutil.Process().nice()
        assert process.environ().get("OPENBLAS_NUM_THREADS") == os.environ.get("OPENBLAS_NUM_THREADS")
    finally:
        popen.kill()
        popen.wait()


def test_an_unknown_priority_is_refused():
    with pytest.raises(ValueError, match="priority"):
        training_worker(sys.executable, queue="q", hostname="h", priority="idle")
