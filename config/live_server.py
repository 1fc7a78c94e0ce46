"""The project's web server, live on 127.0.0.1 (a free port), for real HTTP clients.

- `LiveAsgiServer`: the ASGI application served by uvicorn in a background thread of this process.
  Used by tests that need a real HTTP client against a live server (streaming, disconnects) and by
  benchmark commands. Inside pytest it needs a `transactional_db` test: the server answers from its
  own threads and database connections, so it only sees committed rows.
- `LiveServerProcess`: the real server of `make run` (`web_server_command`: uvicorn with N worker
  processes) as a child process, for the load and fault benchmarks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import uvicorn

ASGI_APPLICATION = "config.asgi:application"
WORKER_HEALTHCHECK_TIMEOUT_S = 60


def web_server_command(host: str, port: int, workers: int, *extra: str) -> list[str]:
    """The web server of `make run`: uvicorn with `workers` processes sharing one listening socket.

    Each worker is a whole Django process (its own GIL, database pool and Redis pool); uvicorn's
    supervisor restarts a worker that dies or stops answering its health pings. Async views (the
    SSE streams) run on each worker's event loop.
    """
    return [
        sys.executable, "-m", "uvicorn", ASGI_APPLICATION,
        "--host", host, "--port", str(port), "--workers", str(workers),
        # A worker loading Kiwi's model (config/asgi.py warm-up) holds the GIL for seconds, 13 s on a
        # busy machine, and misses uvicorn's default 5 s ping: it was killed and restarted forever.
        "--timeout-worker-healthcheck", str(WORKER_HEALTHCHECK_TIMEOUT_S),
        *extra,
    ]  # fmt: skip


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveAsgiServer:
    def __init__(self, app=None, *, startup_timeout: float = 10.0):
        if app is None:
            from config.asgi import application as app
        self.config = uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_level="warning", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(self.config)
        self.startup_timeout = startup_timeout
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveAsgiServer:
        self._thread = threading.Thread(target=self.server.run, name="live-asgi-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the live ASGI server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> LiveAsgiServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class LiveServerProcess:
    """`web_server_command` with `workers` processes on a free loopback port, in a child process.

    `env` is added to this process's environment (e.g. DATABASE_URL of a throw-away database,
    DEBUG=0). Started means every worker has loaded the application and the server answers HTTP.
    """

    def __init__(self, *, workers: int = 1, env: dict[str, str] | None = None, startup_timeout: float = 120.0):
        self.workers = workers
        self.env = {**os.environ, **(env or {})}
        self.startup_timeout = startup_timeout
        self.port = free_loopback_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServerProcess:
        # uvicorn's INFO log says "Application startup complete." once per worker that is ready;
        # everything else it says is passed through.
        command = web_server_command("127.0.0.1", self.port, self.workers, "--log-level", "info", "--no-access-log")
        self.process = subprocess.Popen(command, env=self.env, stderr=subprocess.PIPE, text=True)
        ready = threading.Semaphore(0)
        threading.Thread(target=self._relay_log, args=(ready,), name="live-server-log", daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        for _ in range(self.workers):
            if not ready.acquire(timeout=max(0.0, deadline - time.monotonic())):
                self.stop()
                raise RuntimeError(
                    f"the web server did not start {self.workers} worker(s) in {self.startup_timeout:.0f} s"
                )
        while True:  # and it answers (a worker may still hold the GIL loading its models)
            try:
                httpx.get(f"{self.url}/api/v1/me", timeout=5)
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise

    def _relay_log(self, ready: threading.Semaphore) -> None:
        for line in self.process.stderr:
            if "Application startup complete" in line:
                ready.release()
            elif not line.startswith("INFO:") or "died" in line:
                sys.stderr.write(line)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LiveServerProcess:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
