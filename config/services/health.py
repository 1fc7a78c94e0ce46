"""Liveness of the services the platform needs: PostgreSQL + pgvector, Redis, a Celery worker.

Fast enough for a load-balancer probe (a few milliseconds): the worker is not pinged (Celery's
`control.ping` always waits its whole timeout, 1 s, for replies) but known from its heartbeat. Each
worker writes one into a Redis sorted set every HEARTBEAT_INTERVAL_SECONDS (`WorkerHeartbeat` in
config/celery.py) and removes it when it stops; a worker whose last heartbeat is older than
HEARTBEAT_TTL_SECONDS counts as down.
"""

import time
from functools import lru_cache

import redis
from django.conf import settings
from django.db import connection

CHECK_TIMEOUT_SECONDS = 0.5
HEARTBEAT_INTERVAL_SECONDS = 2.0
HEARTBEAT_TTL_SECONDS = 10.0


@lru_cache(maxsize=8)
def _redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per URL: a probe should not pay a new connection each time."""
    return redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS)


def _heartbeat_key() -> str:
    return f"{settings.CACHES['default']['KEY_PREFIX']}:celery:worker-heartbeats"


def record_heartbeat(hostname: str) -> None:
    """Note that worker `hostname` is alive now (raises on a Redis error; the caller decides)."""
    key = _heartbeat_key()
    with _redis_client(settings.REDIS_URL).pipeline() as pipe:
        pipe.zadd(key, {hostname: time.time()})
        pipe.zremrangebyscore(key, "-inf", time.time() - HEARTBEAT_TTL_SECONDS)  # workers that died silently
        pipe.expire(key, int(HEARTBEAT_TTL_SECONDS * 3))
        pipe.execute()


def forget_heartbeat(hostname: str) -> None:
    _redis_client(settings.REDIS_URL).zrem(_heartbeat_key(), hostname)


def check_database() -> tuple[str, str | None]:
    """Returns (database status, pgvector version)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the reason is reported, not raised
        return f"down: {exc.__class__.__name__}", None
    return "ok", (row[0] if row else None)


def check_redis_and_workers() -> tuple[str, str]:
    """(Redis status, Celery status) in one round trip: a ping and the count of fresh heartbeats."""
    try:
        with _redis_client(settings.REDIS_URL).pipeline(transaction=False) as pipe:
            pipe.ping()
            pipe.zcount(_heartbeat_key(), time.time() - HEARTBEAT_TTL_SECONDS, "+inf")
            _, workers = pipe.execute()
    except (redis.RedisError, OSError) as exc:
        return f"down: {exc.__class__.__name__}", "down: broker unreachable"
    if not workers:
        return "ok", f"down: no worker heartbeat in the last {HEARTBEAT_TTL_SECONDS:.0f} s"
    return "ok", "ok"


def health_report() -> tuple[bool, dict]:
    """(all healthy?, report)."""
    database, pgvector = check_database()
    redis_status, celery = check_redis_and_workers()
    report = {"database": database, "pgvector": pgvector or "missing", "redis": redis_status, "celery": celery}
    down = [name for name in ("database", "redis", "celery") if report[name] != "ok"]
    if pgvector is None:
        down.append("pgvector")
    if database == "ok":
        from analytics.services.message_logs import log_outbox_backlog  # analytics' own rule of "stuck"

        report["log_outbox"] = log_outbox_backlog()
    stuck = report.get("log_outbox", {}).get("stuck", False)
    report["status"] = "down" if down else "degraded" if stuck else "ok"
    report["down"] = down
    return not down, report
