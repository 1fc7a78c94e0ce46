import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
import redis
from django.conf import settings

from config import embedded


@pytest.fixture
def redis_dir(tmp_path_factory):
    # unix socket paths are short-limited: pytest's tmp paths can be long, so use /tmp directly
    path = tmp_path_factory.mktemp("r", numbered=True)
    yield path
    embedded.stop_redis(path / "redis.pid")


def test_embedded_redis_starts_and_answers(redis_dir):
    socket_path = embedded.redis_socket(redis_dir)
    assert redis.Redis(unix_socket_path=str(socket_path)).ping()


def test_second_start_reuses_the_running_redis(redis_dir):
    embedded.redis_socket(redis_dir)
    first_pid = (redis_dir / "redis.pid").read_text()
    embedded.redis_socket(redis_dir)
    assert (redis_dir / "redis.pid").read_text() == first_pid


def test_redis_recovers_from_a_stale_socket_after_a_crash(redis_dir):
    socket_path = embedded.redis_socket(redis_dir)
    os.kill(int((redis_dir / "redis.pid").read_text()), signal.SIGKILL)
    time.sleep(0.2)
    assert socket_path.exists()  # the crash left the socket file behind
    embedded.redis_socket(redis_dir)
    assert redis.Redis(unix_socket_path=str(socket_path)).ping()


def _postgres_url_in_new_process(var_dir):
    code = "from config import embedded; import sys, pathlib; print(embedded.postgres_url(pathlib.Path(sys.argv[1])))"
    result = subprocess.run([sys.executable, "-c", code, str(var_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _postmaster_pid(var_dir):
    return int((var_dir / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def test_embedded_postgres_is_shared_by_processes():
    assert _postgres_url_in_new_process(settings.VAR_DIR) == embedded.postgres_url(settings.VAR_DIR)


def test_embedded_postgres_recovers_after_its_server_was_killed(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("pg", numbered=True)
    _postgres_url_in_new_process(var_dir)
    os.kill(_postmaster_pid(var_dir), signal.SIGKILL)
    time.sleep(0.5)
    url = _postgres_url_in_new_process(var_dir)  # a later process finds the stale pid file and starts afresh
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    os.kill(_postmaster_pid(var_dir), signal.SIGTERM)


def test_unstartable_service_reports_one_line_without_traceback(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    env = {**os.environ, "VAR_DIR": str(blocker / "var")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: cannot create")
    assert len(result.stderr.strip().splitlines()) == 1


def _is_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_stop_stops_the_embedded_postgres_and_redis(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("stop", numbered=True)
    _postgres_url_in_new_process(var_dir)
    embedded.redis_socket(var_dir)
    postgres_pid, redis_pid = _postmaster_pid(var_dir), int((var_dir / "redis.pid").read_text())

    result = subprocess.run(
        [sys.executable, "-m", "config.embedded", "stop"],
        env={**os.environ, "VAR_DIR": str(var_dir)},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert not _is_running(postgres_pid) and not _is_running(redis_pid)
    url = _postgres_url_in_new_process(var_dir)  # the next process starts them again, data intact
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    embedded.stop_all(var_dir)
