import pytest
from rest_framework.test import APIClient

from chat.models import Partner, PartnerApiKey
from config.models import UserApiToken

pytestmark = pytest.mark.django_db


def test_token_identifies_the_user(alice_client):
    body = alice_client.get("/api/v1/me").json()
    assert body == {"kind": "user", "username": "alice", "partner_id": None, "is_staff": False}


def test_password_exchanges_for_a_new_token(api_client, django_user_model):
    django_user_model.objects.create_user("carol", password="s3cret-pass")
    response = api_client.post("/api/v1/auth/token", {"username": "carol", "password": "s3cret-pass"})
    assert response.status_code == 201
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


def test_a_database_dump_holds_no_usable_token(alice_client):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM config_userapitoken")
        dump = repr(cursor.fetchall())
    prefix, secret = alice_client.token.split(".", 1)

    assert prefix in dump and secret not in dump
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Token {prefix}.{UserApiToken.objects.get(prefix=prefix).key_hash}")
    assert forged.get("/api/v1/me").status_code == 401


def test_a_revoked_token_is_401(alice_client):
    UserApiToken.objects.get(user=alice_client.user).revoke()

    response = alice_client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "폐기된 토큰입니다."


def test_a_token_of_an_inactive_user_is_401(alice_client):
    alice_client.user.is_active = False
    alice_client.user.save()

    assert alice_client.get("/api/v1/me").status_code == 401


def test_a_token_issued_before_hashing_still_works_after_the_migration(django_user_model):
    # the data migration stores a 40-character legacy key as prefix = key[:8] and the hash of the rest
    user = django_user_model.objects.create_user("legacy")
    legacy = "0123456789abcdef0123456789abcdef01234567"
    UserApiToken.objects.create(user=user, prefix=legacy[:8], key_hash=UserApiToken.hash_secret(legacy[8:]))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {legacy}")

    assert client.get("/api/v1/me").json()["username"] == "legacy"


def test_last_used_is_recorded_at_most_once_a_minute(alice_client):
    alice_client.get("/api/v1/me")
    first = UserApiToken.objects.get(user=alice_client.user).last_used_at

    alice_client.get("/api/v1/me")

    assert first is not None
    assert UserApiToken.objects.get(user=alice_client.user).last_used_at == first


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
    assert response.json()["error"]["message"] == "폐기된 API 키입니다."


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


def test_the_migration_hashes_plain_tokens_and_drops_their_table(django_user_model):
    import importlib

    from django.db import connection

    migration = importlib.import_module("config.migrations.0001_hashed_user_api_tokens")
    user = django_user_model.objects.create_user("olduser")
    legacy = "fedcba9876543210fedcba9876543210fedcba98"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz, user_id int)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [legacy, user.pk])
        cursor.execute(migration.MOVE_PLAIN_TOKENS)
        cursor.execute("SELECT to_regclass('authtoken_token')")
        assert cursor.fetchone() == (None,)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {legacy}")

    assert client.get("/api/v1/me").json()["username"] == "olduser"
