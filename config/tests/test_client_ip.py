"""The anonymous rate limit keys on the client address: X-Forwarded-For counts only behind trusted proxies."""

import pytest

pytestmark = pytest.mark.django_db

ATTEMPT = {"username": "alice", "password": "wrong"}


@pytest.fixture(autouse=True)
def three_per_hour(settings):
    """Limits per hour, so that a test's requests never straddle a window boundary that resets the count.

    Set through pytest-django's `settings` like NUM_PROXIES below: an override_settings decorator
    combined with that fixture was restored in the wrong order and leaked "3/hour" into later tests."""
    settings.API_RATE_LIMIT = "3/hour"


@pytest.fixture
def trusted_proxies(settings):
    def configure(count: int):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return configure


def attempt(client, *, remote_addr: str, forwarded_for: str) -> int:
    response = client.post(
        "/api/v1/auth/token", ATTEMPT, format="json", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for
    )
    return response.status_code


def test_no_proxy_is_trusted_by_default(settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0


def test_rotating_x_forwarded_for_does_not_bypass_the_anonymous_limit(api_client):
    statuses = [attempt(api_client, remote_addr="10.0.0.1", forwarded_for=f"203.0.113.{n}") for n in range(8)]

    assert statuses == [400, 400, 400] + [429] * 5


def test_behind_one_trusted_proxy_each_forwarded_client_has_its_own_limit(api_client, trusted_proxies):
    trusted_proxies(1)

    statuses = [attempt(api_client, remote_addr="10.0.0.2", forwarded_for=f"203.0.113.{n}") for n in range(8)]

    assert statuses == [400] * 8


def test_behind_one_trusted_proxy_a_client_cannot_prepend_addresses_to_escape(api_client, trusted_proxies):
    trusted_proxies(1)

    # The proxy appends the real client (198.51.100.7); what the client wrote before it is not used.
    forwarded = [f"192.0.2.{n}, 198.51.100.7" for n in range(5)]
    statuses = [attempt(api_client, remote_addr="10.0.0.3", forwarded_for=value) for value in forwarded]

    assert statuses == [400, 400, 400, 429, 429]
