"""The project's ASGI application served by uvicorn in a background thread on 127.0.0.1 (random port).

Used by tests that need a real HTTP client against a live server (streaming, disconnects) and by
benchmark commands. Inside pytest it needs a `transactional_db` test: the server answers from its
own threads and database connections, so it only sees committed rows.
"""

from __future__ import annotations

import threading
import time

import uvicorn


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
