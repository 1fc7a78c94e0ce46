import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip().splitlines()[-1]


def test_issue_token_prints_a_working_token_on_its_last_line():
    token = run("issue_token", "dave", "--staff")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me").json() == {"kind": "user", "username": "dave", "partner_id": None, "is_staff": True}


def test_issue_token_twice_issues_two_working_tokens():
    first, second = run("issue_token", "dave"), run("issue_token", "dave")

    assert first != second
    for token in (first, second):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert client.get("/api/v1/me").json()["username"] == "dave"


def test_create_partner_key_prints_a_working_key_on_its_last_line():
    key = run("create_partner_key", "kindhabit")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get("/api/v1/me").json()["partner_id"] == "kindhabit"
    assert run("create_partner_key", "kindhabit") != key


def test_ensure_admin_creates_the_superuser_once(django_user_model, settings):
    settings.ADMIN_PASSWORD = "admin-pass-123"
    run("ensure_admin")
    run("ensure_admin")
    admin = django_user_model.objects.get(username=settings.ADMIN_USERNAME)
    assert admin.is_superuser and admin.check_password("admin-pass-123")


def test_admin_and_docs_pages_render(client, django_user_model):
    django_user_model.objects.create_superuser("root", password="pw")
    client.login(username="root", password="pw")
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/chat/partnerapikey/").status_code == 200
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/health" in schema.json()["paths"]
