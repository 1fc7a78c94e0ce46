"""Liveness of the services the platform needs: PostgreSQL + pgvector, Redis, a Celery worker."""

import redis
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

CHECK_TIMEOUT_SECONDS = 1.0


def check_database() -> tuple[str, str | None]:
    """Returns (database status, pgvector version)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the reason is reported, not raised
        return f"down: {exc.__class__.__name__}", None
    return "ok", (row[0] if row else None)


def check_redis(url: str | None = None) -> str:
    try:
        client = redis.Redis.from_url(
            url or settings.REDIS_URL,
            socket_timeout=CHECK_TIMEOUT_SECONDS,
            socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        )
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"down: {exc.__class__.__name__}"
    return "ok"


def check_celery() -> str:
    try:
        replies = celery_app.control.ping(timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # broker errors surface as kombu/redis/OS errors
        return f"down: {exc.__class__.__name__}"
    return "ok" if replies else "down: no worker answered"


def health_report() -> tuple[bool, dict]:
    """(all healthy?, report). Celery is checked only when Redis answers: it is the broker."""
    database, pgvector = check_database()
    redis_status = check_redis()
    celery = check_celery() if redis_status == "ok" else "down: broker unreachable"
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
