import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.test import override_settings

from config import embedded
from config.celery import app
from config.services import health


@pytest.mark.django_db(transaction=True)
def test_health_is_green_with_database_pgvector_redis_and_a_worker(api_client, celery_worker_thread):
    response = api_client.get("/api/v1/health")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["database"] == "ok"
    assert body["pgvector"].startswith("0.")
    assert body["redis"] == "ok"
    assert body["celery"] == "ok"
    assert body["down"] == []


@pytest.mark.django_db
def test_health_is_503_naming_redis_when_redis_is_stopped(api_client, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("h", numbered=True)
    socket_path = embedded.redis_socket(var_dir)
    with override_settings(REDIS_URL=f"unix://{socket_path}"):
        assert api_client.get("/api/v1/health").json()["redis"] == "ok"
        embedded.stop_redis(var_dir / "redis.pid")
        response = api_client.get("/api/v1/health")
    assert response.status_code == 503
    assert "redis" in response.json()["down"]
    assert response.json()["redis"].startswith("down")


@pytest.mark.django_db
def test_health_is_503_naming_celery_when_no_worker_answers(api_client):
    response = api_client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["down"] == ["celery"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_stops_takes_its_heartbeat_with_it(api_client):
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        assert api_client.get("/api/v1/health").json()["celery"] == "ok"

    response = api_client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["down"] == ["celery"]


@pytest.mark.django_db
def test_a_fresh_heartbeat_counts_as_a_live_worker(api_client):
    health.record_heartbeat("celery@probe-test")
    try:
        response = api_client.get("/api/v1/health")
    finally:
        health.forget_heartbeat("celery@probe-test")

    assert response.status_code == 200
    assert response.json()["celery"] == "ok"


@pytest.mark.django_db
def test_a_heartbeat_older_than_its_ttl_is_a_dead_worker(api_client, settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = f"{settings.CACHES['default']['KEY_PREFIX']}:celery:worker-heartbeats"
    client.zadd(key, {"celery@gone": time.time() - health.HEARTBEAT_TTL_SECONDS - 1})
    try:
        response = api_client.get("/api/v1/health")
    finally:
        client.zrem(key, "celery@gone")

    assert response.status_code == 503
    assert response.json()["celery"].startswith("down: no worker heartbeat")
