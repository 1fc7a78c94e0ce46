"""What a bare request costs under ASGI: one Redis pool per process, one round trip for the rate
limit, one thread hop for a synchronous view on a kept thread, one URL resolution (README "Serving
and load")."""

import asyncio
import threading
import time

import httpx
import pytest
from asgiref.sync import SyncToAsync
from django.core.cache import cache, caches
from django.core.signals import request_finished, request_started
from django.test import override_settings
from django.urls.resolvers import URLResolver

from chat.models import ChatUser
from chat.services.profiles import chat_user_for
from config.api.authentication import UserTokenAuthentication
from config.asgi import application
from config.asgi_handler import ASGIHandlerWithSyncViewsInOneHop
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


def _get_concurrently(app, paths: list[str], token: str) -> list[httpx.Response]:
    async def get_all():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            headers = {"Authorization": f"Token {token}"}
            return await asyncio.gather(*(client.get(path, headers=headers) for path in paths))

    return asyncio.run(get_all())


@pytest.fixture
def request_threads():
    """Which thread each request ran on (Django sends request_started and request_finished on the
    request's thread) and how many ran at once; each takes at least 50 ms, so concurrent ones overlap."""
    seen = {"names": [], "running": 0, "most_at_once": 0}
    lock = threading.Lock()

    def started(**kwargs):
        with lock:
            seen["names"].append(threading.current_thread().name)
            seen["running"] += 1
            seen["most_at_once"] = max(seen["most_at_once"], seen["running"])
        time.sleep(0.05)

    def finished(**kwargs):
        with lock:
            seen["running"] -= 1

    request_started.connect(started)
    request_finished.connect(finished)
    yield seen
    request_started.disconnect(started)
    request_finished.disconnect(finished)


@pytest.mark.django_db(transaction=True)
def test_synchronous_views_run_on_threads_the_process_keeps(alice_client, settings, request_threads):
    settings.API_RATE_LIMIT = "1000/min"

    for _ in range(3):
        responses = _get_concurrently(application, ["/api/v1/me"], alice_client.token)
        assert responses[0].status_code == 200

    # Django starts (and joins) a new thread for every request.
    assert len(set(request_threads["names"])) == 1
    assert request_threads["names"][0].startswith("sync-view")


@pytest.mark.django_db(transaction=True)
def test_no_more_synchronous_views_run_at_once_than_web_threads(alice_client, settings, request_threads):
    settings.API_RATE_LIMIT = "1000/min"
    settings.WEB_THREADS = 2
    app = ASGIHandlerWithSyncViewsInOneHop()

    responses = _get_concurrently(app, ["/api/v1/me"] * 8, alice_client.token)

    assert [response.status_code for response in responses] == [200] * 8
    assert request_threads["most_at_once"] == 2
    assert len(set(request_threads["names"])) == 2


@pytest.mark.django_db(transaction=True)
def test_the_url_of_a_request_is_resolved_once(alice_client, settings, monkeypatch):
    settings.API_RATE_LIMIT = "1000/min"
    resolved = []
    original_resolve = URLResolver.resolve

    def counting_resolve(self, path):
        if self.pattern.describe() == "'^/'":  # the root resolver; included ones are its steps
            resolved.append(path)
        return original_resolve(self, path)

    monkeypatch.setattr(URLResolver, "resolve", counting_resolve)

    responses = _get_concurrently(application, ["/api/v1/me"], alice_client.token)

    assert responses[0].status_code == 200
    assert resolved == ["/api/v1/me"]


@pytest.mark.django_db(transaction=True)
def test_an_unknown_url_under_asgi_is_still_the_json_404(alice_client, settings):
    settings.API_RATE_LIMIT = "1000/min"

    responses = _get_concurrently(application, ["/api/v1/no-such-thing"], alice_client.token)

    assert responses[0].status_code == 404
    assert responses[0].json()["error"]["code"] == "not_found"


def test_cache_calls_share_one_redis_client_per_pool():
    # Django builds a new redis.Redis (and its response-callback table) for every cache call.
    first, second = caches.create_connection("default"), caches.create_connection("default")

    assert first._cache.get_client(write=True) is second._cache.get_client("some-key", write=False)


@pytest.mark.django_db
def test_token_authentication_brings_the_callers_chat_user_along(alice_client, django_assert_num_queries):
    first = chat_user_for(alice_client.user)  # created on first use
    prefix = alice_client.token.partition(".")[0]

    with django_assert_num_queries(1):  # the token, its user and the user's chat user: one join
        token = UserTokenAuthentication().lookup(prefix)
        chat_user = chat_user_for(token.user)

    assert chat_user.pk == first.pk


@pytest.mark.django_db
def test_a_token_whose_user_has_no_chat_user_yet_gets_one(alice_client):
    token = UserTokenAuthentication().lookup(alice_client.token.partition(".")[0])

    chat_user = chat_user_for(token.user)

    assert chat_user.auth_user_id == alice_client.user.pk
    assert ChatUser.objects.filter(auth_user=alice_client.user).count() == 1
