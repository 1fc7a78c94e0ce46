"""Every API failure answers {"error": {"code", "message", "details"}}."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def test_400_names_the_invalid_field(api_client):
    error = assert_error(api_client.post("/api/v1/auth/token", {"username": "x"}, format="json"), 400, "invalid")
    assert "password" in error["details"]


def test_401_without_credentials(api_client):
    response = api_client.get("/api/v1/me")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_403_for_a_non_staff_user_on_a_staff_endpoint(alice_client):
    assert_error(alice_client.get("/api/v1/partners"), 403, "permission_denied")


def test_404_for_an_unknown_api_path(alice_client):
    assert_error(alice_client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_404_for_an_unknown_object(staff_client):
    assert_error(staff_client.get("/api/v1/partners/nobody"), 404, "not_found")


def test_405_for_a_wrong_method(alice_client):
    assert_error(alice_client.delete("/api/v1/me"), 405, "method_not_allowed")


def test_415_for_a_body_that_is_not_json(api_client):
    response = api_client.post("/api/v1/auth/token", "a=b", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/v1/chat/completions"])
def test_415_for_a_compressed_body(api_client, path):
    response = api_client.post(path, b"\x1f\x8b\x08\x00", content_type="application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert "Content-Encoding" in response.json()["error"]["message"]


def test_an_identity_content_encoding_is_read_as_usual(api_client):
    response = api_client.post("/api/v1/auth/token", {"username": "x"}, format="json", HTTP_CONTENT_ENCODING="identity")

    assert_error(response, 400, "invalid")


def test_400_for_malformed_json(api_client):
    response = api_client.post("/api/v1/auth/token", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


# Hourly windows in these tests: with a one-minute window, a test that happened to straddle the minute
# would see its counter start again and fail.
@override_settings(API_RATE_LIMIT="60/hour")
def test_61st_request_in_the_window_is_429_with_retry_after(alice_client):
    for _ in range(60):
        assert alice_client.get("/api/v1/me").status_code == 200
    error = assert_error(alice_client.get("/api/v1/me"), 429, "throttled")
    assert 0 < error["details"]["retry_after"] <= 3600


@override_settings(API_RATE_LIMIT="3/hour")
def test_rate_limits_are_per_client(alice_client, bob_client):
    for _ in range(3):
        alice_client.get("/api/v1/me")
    assert alice_client.get("/api/v1/me").status_code == 429
    assert bob_client.get("/api/v1/me").status_code == 200


@override_settings(API_RATE_LIMIT="2/hour")
def test_partner_keys_are_rate_limited_too(partner_client):
    assert partner_client.get("/api/v1/me").status_code == 200
    assert partner_client.get("/api/v1/me").status_code == 200
    assert partner_client.get("/api/v1/me").status_code == 429


def test_requests_are_let_through_while_the_rate_limit_store_is_unreachable(alice_client, settings, tmp_path):
    settings.API_RATE_LIMIT = "1/min"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": f"unix://{tmp_path}/no-redis.sock?db=1"},
    }

    assert [alice_client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize("page", ["abc", "0", "-1", "²", "1.5"])
def test_a_page_that_is_not_a_whole_number_from_1_is_400(staff_client, page):
    response = staff_client.get("/api/v1/analytics/logs", {"page": page})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "page" in response.json()["error"]["details"]


def test_a_page_past_the_end_is_still_404(staff_client):
    response = staff_client.get("/api/v1/analytics/logs", {"page": 99})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_last_page_keyword_is_accepted(staff_client):
    assert staff_client.get("/api/v1/analytics/logs", {"page": "last"}).status_code == 200


@pytest.mark.parametrize(("nth_example", "headers"), [(0, {}), (1, {"HTTP_ACCEPT_LANGUAGE": "en"})])
def test_the_readmes_error_examples_are_what_the_server_says(api_client, nth_example, headers):
    import json
    import re
    from pathlib import Path

    from django.conf import settings

    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    examples = re.findall(r'^(\{"error": \{"code": "invalid", "message": "password: .*)$', readme, re.M)

    response = api_client.post("/api/v1/auth/token", {"username": "x"}, format="json", **headers)

    assert len(examples) == 2  # Korean (the default), then English
    assert response.json() == json.loads(examples[nth_example])
