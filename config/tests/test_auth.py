import pytest
from rest_framework.test import APIClient

from chat.models import Partner, PartnerApiKey

pytestmark = pytest.mark.django_db


def test_token_identifies_the_user(alice_client):
    body = alice_client.get("/api/v1/me").json()
    assert body == {"kind": "user", "username": "alice", "partner_id": None, "is_staff": False}


def test_password_exchanges_for_the_token(api_client, django_user_model):
    django_user_model.objects.create_user("carol", password="s3cret-pass")
    response = api_client.post("/api/v1/auth/token", {"username": "carol", "password": "s3cret-pass"})
    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.get("/api/v1/me").json()["username"] == "carol"


def test_wrong_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token deadbeef")
    assert api_client.get("/api/v1/me").status_code == 401


def test_partner_key_identifies_the_partner(partner_client):
    body = partner_client.get("/api/v1/me").json()
    assert body == {"kind": "partner", "username": None, "partner_id": "medilinx", "is_staff": False}


def test_partner_key_is_stored_hashed():
    partner = Partner.objects.create(partner_id="kindhabit")
    key, plain = PartnerApiKey.issue(partner)
    stored = PartnerApiKey.objects.get(pk=key.pk)
    secret = plain.split(".", 1)[1]
    assert secret not in stored.key_hash and stored.key_hash == PartnerApiKey.hash_secret(secret)


def _client_with_key(plain):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {plain}")
    return client


def test_revoked_partner_key_is_401():
    key, plain = PartnerApiKey.issue(Partner.objects.create(partner_id="kindhabit"))
    client = _client_with_key(plain)
    assert client.get("/api/v1/me").status_code == 200
    key.revoke()
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_key_of_an_inactive_partner_is_401():
    partner = Partner.objects.create(partner_id="kindhabit", is_active=False)
    _, plain = PartnerApiKey.issue(partner)
    assert _client_with_key(plain).get("/api/v1/me").status_code == 401


def test_key_with_a_wrong_secret_is_401():
    _, plain = PartnerApiKey.issue(Partner.objects.create(partner_id="kindhabit"))
    prefix = plain.split(".")[0]
    assert _client_with_key(f"{prefix}.wrong").get("/api/v1/me").status_code == 401
    assert _client_with_key("garbage").get("/api/v1/me").status_code == 401


def test_partner_key_records_last_use(partner_client):
    partner_client.get("/api/v1/me")
    assert PartnerApiKey.objects.get(partner=partner_client.partner).last_used_at is not None


def test_staff_lists_partners_with_active_key_counts(staff_client, partner_client):
    Partner.objects.create(partner_id="kindhabit")
    body = staff_client.get("/api/v1/partners", {"is_active": "true"}).json()
    assert body["count"] == 2
    assert {p["partner_id"]: p["active_key_count"] for p in body["results"]} == {"kindhabit": 0, "medilinx": 1}
    assert staff_client.get("/api/v1/partners", {"q": "kind"}).json()["count"] == 1
