"""Fixtures shared by every app's tests: users with tokens, partner keys, a real Celery worker."""

from contextlib import contextmanager

import pytest
from rest_framework.test import APIClient

from chat.models import Partner, PartnerApiKey
from config.models import UserApiToken


@pytest.fixture
def api_client():
    return APIClient()


def _user_client(django_user_model, username, **extra):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username, **extra)
    client = APIClient()
    _, token = UserApiToken.issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.user, client.token = user, token
    return client


@pytest.fixture
def alice_client(django_user_model):
    """An end user with a token; `alice_client.user` is the user, `alice_client.token` the plain token."""
    return _user_client(django_user_model, "alice")


@pytest.fixture
def bob_client(django_user_model):
    return _user_client(django_user_model, "bob")


@pytest.fixture
def staff_client(django_user_model):
    return _user_client(django_user_model, "staff", is_staff=True)


def _partner_client(partner_id: str, name: str) -> APIClient:
    partner = Partner.objects.create(partner_id=partner_id, name=name)
    _, key = PartnerApiKey.issue(partner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.partner = partner
    return client


@pytest.fixture
def partner_client(db):
    """A partner server with an API key; `partner_client.partner` is the Partner (owner of rag_key medilinx)."""
    return _partner_client("medilinx", "Medilinx")


@pytest.fixture
def other_partner_client(db):
    """A second partner (kindhabit), for tenancy tests between partners."""
    return _partner_client("kindhabit", "Kindhabit")


@pytest.fixture
def redis_outage(settings, tmp_path):
    """A context manager: inside it the cache (results, rate limits, contexts) and the broker settings point
    at a Redis socket nobody listens on; after it they point back at the real Redis."""

    @contextmanager
    def outage():
        saved = settings.CACHES, settings.REDIS_URL, settings.CELERY_BROKER_URL
        dead = f"{tmp_path}/no-redis.sock"
        settings.CACHES = {**saved[0], "default": {**saved[0]["default"], "LOCATION": f"unix://{dead}?db=1"}}
        settings.REDIS_URL = f"unix://{dead}"
        settings.CELERY_BROKER_URL = f"redis+socket://{dead}"
        try:
            yield
        finally:
            settings.CACHES, settings.REDIS_URL, settings.CELERY_BROKER_URL = saved

    return outage


@pytest.fixture
def redis_down(redis_outage):
    """Redis unreachable for the whole test (see redis_outage)."""
    with redis_outage():
        yield


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (in a thread) consuming this test run's own queue on the real Redis."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING") as worker:
        yield worker
