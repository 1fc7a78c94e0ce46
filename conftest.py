"""Fixtures shared by every app's tests: users with tokens, partner keys, a real Celery worker."""

import time
import warnings
from contextlib import contextmanager

import pytest
from rest_framework.test import APIClient

from chat.models import Partner, PartnerApiKey
from config.models import UserApiToken

LINGER_SECONDS = 5.0


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, dropped reliably at the end. A Celery worker or server thread that a test
    stopped may still be ending its database session then, and DROP DATABASE refuses while one is open (the
    database was left behind, one more each time): wait a little for such sessions, then end them, named in a
    warning."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            deadline = time.monotonic() + LINGER_SECONDS
            while (lingering := _other_sessions(cursor)) and time.monotonic() < deadline:
                time.sleep(0.1)
            for pid, application, state, query in lingering:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                warnings.warn(f"ended a database session left open by the tests: pid {pid} {application!r} "
                              f"{state} {query[:120]!r}", stacklevel=1)  # fmt: skip
        connection.close()


def _other_sessions(cursor) -> list[tuple]:
    cursor.execute(
        "SELECT pid, application_name, state, query FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return cursor.fetchall()


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


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    """Debian's headless Chromium through selenium at 1400 px wide; skipped only off CI without the browser."""
    import os
    from pathlib import Path

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have /usr/bin/chromium and /usr/bin/chromedriver (.ci/run installs them)")
        pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-component-update", "--disable-sync", "--window-size=1400,1000"]  # fmt: skip
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def admin_browser(browser, live_server, django_user_model):
    """The browser logged in to the admin as a superuser (`admin_browser.user`); `admin_browser.open(path)` loads
    a page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    browser.user = django_user_model.objects.create_superuser("browser-staff", password="browser-password-1")
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("browser-staff")
    browser.find_element(By.NAME, "password").send_keys("browser-password-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # The click may return before the login's response has set the session, and a page opened at once is then
    # answered with the login form: the likely cause of a dashboard test failure seen once on a loaded machine.
    WebDriverWait(browser, 30).until(lambda driver: driver.current_url == f"{live_server.url}/admin/")
    browser.open = lambda path: browser.get(f"{live_server.url}{path}")
    return browser
