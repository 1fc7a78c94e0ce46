"""What a bare request costs under ASGI: one Redis pool per process, one round trip for the rate
limit, one thread hop for a synchronous view (README "Serving and load")."""

import asyncio

import httpx
import pytest
from asgiref.sync import SyncToAsync
from django.core.cache import cache, caches
from django.test import override_settings

from config.asgi import application
from config.cache import incr_in_window


def test_cache_backends_built_for_different_requests_share_one_redis_pool():
    # Django builds a new backend per async context (each ASGI request); they must not each connect.
    first, second = caches.create_connection("default"), caches.create_connection("default")

    assert first is not second
    assert first._cache._get_connection_pool(True) is second._cache._get_connection_pool(True)


def test_window_counter_counts_and_expires_with_its_window():
    key = "floor-test:counter"
    cache.delete(key)

    assert [incr_in_window(key, 30) for _ in range(3)] == [1, 2, 3]
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_and_validate_key(key)) <= 30
    cache.delete(key)


def _get_over_asgi(path: str, token: str, monkeypatch) -> tuple[httpx.Response, int]:
    """GET `path` through the project's ASGI application; the response and how many thread hops it took."""
    hops = 0
    original_call = SyncToAsync.__call__

    async def counting_call(self, *args, **kwargs):
        nonlocal hops
        hops += 1
        return await original_call(self, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__call__", counting_call)

    async def get():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get(path, headers={"Authorization": f"Token {token}"})

    return asyncio.run(get()), hops


@pytest.mark.django_db(transaction=True)
@override_settings(API_RATE_LIMIT="1000/min")
def test_a_synchronous_view_under_asgi_runs_its_middleware_and_view_in_one_hop(alice_client, monkeypatch):
    token = alice_client._credentials["HTTP_AUTHORIZATION"].split()[1]

    response, hops = _get_over_asgi("/api/v1/me", token, monkeypatch)

    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.headers["X-Frame-Options"] == "DENY"  # the middleware did run
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # request_started, the middleware + view, response.close(): Django's async path took 16 here.
    assert hops <= 3
