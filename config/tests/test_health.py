import pytest
from django.test import override_settings

from config import embedded


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
