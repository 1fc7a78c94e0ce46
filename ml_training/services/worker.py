"""How a training worker runs beside the web: `make run` (run_all) and `bench_chat --training-turns` start it
from here, so the benchmark measures the configuration that ships.

A training job is one long CPU-bound computation that may take as long as it likes; a chat turn is short
and is felt. So the worker runs "low": at niceness 19, with one thread for the math libraries (OpenBLAS and
OpenMP under numpy and scikit-learn start one thread per core, so a multi-threaded fit competes for the core
the web is using too). Measured with `bench_chat --training-turns` on the 2-core machine (README): chat p95
during training / idle 0.72-1.07 low (seven runs), 1.07-2.14 normal, 1.11-1.27 at niceness 19 with the
default threads, and 1.19-1.30 under SCHED_IDLE (`chrt --idle`) with one thread, which is why that is not used.
"""

from __future__ import annotations

import os

PRIORITIES = ("low", "normal")
ONE_MATH_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def training_worker(
    python: str, *, queue: str, hostname: str, loglevel: str = "INFO", priority: str = "low", env: dict | None = None
) -> tuple[list[str], dict]:
    """(command line, environment) of a solo Celery worker consuming `queue`; the environment is `env` (default
    os.environ) with one math thread at priority "low". Priority "normal" is the benchmark's comparison."""
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {PRIORITIES}, not {priority!r}")
    command = [python, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue, "-n", hostname,
               "--loglevel", loglevel]  # fmt: skip
    env = dict(os.environ if env is None else env)
    if priority == "normal":
        return command, env
    return ["nice", "-n", "19", *command], {**env, **ONE_MATH_THREAD}
