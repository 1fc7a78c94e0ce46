"""API errors speak one language per request: Korean by default, English when Accept-Language asks
for it (README "HTTP API conventions"); the admin stays Korean whatever the browser asks for."""

import re

import pytest

from chat.services.profiles import chat_user_for
from chat.tests.dining_factories import make_shop

pytestmark = pytest.mark.django_db

HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def messages_in(value) -> list[str]:
    """Every human-readable string of an error's details (field errors nest in dicts and lists)."""
    if isinstance(value, dict):
        return [message for item in value.values() for message in messages_in(item)]
    if isinstance(value, list):
        return [message for item in value for message in messages_in(item)]
    return [value] if isinstance(value, str) else []


def apply_unknown_coupon(client, **headers):
    body = {"coupon_id": "NOPE", "shop_id": make_shop().pk, "order_amount": 5000}
    return client.post("/api/v1/coupons/apply", body, format="json", **headers)


def someone_elses_profile(client, other, **headers):
    return client.get(f"/api/v1/users/{chat_user_for(other.user).pk}/profile", **headers)


def token_without_password(client, **headers):
    return client.post("/api/v1/auth/token", {"username": "x"}, format="json", **headers)


# --- Korean by default -----------------------------------------------------------------------------


def test_a_project_error_is_korean_without_accept_language(alice_client):
    error = error_of(apply_unknown_coupon(alice_client), 404)

    assert error == {"code": "coupon_not_found", "message": "NOPE 쿠폰을 찾을 수 없습니다.", "details": None}


def test_a_permission_error_is_korean_without_accept_language(alice_client, bob_client):
    error = error_of(someone_elses_profile(alice_client, bob_client), 403)

    assert (error["code"], error["message"]) == ("permission_denied", "본인의 데이터에만 접근할 수 있습니다.")


def test_a_drf_field_error_is_korean_without_accept_language(api_client):
    error = error_of(token_without_password(api_client), 400)

    assert error["message"] == "password: 이 필드는 필수 항목입니다."


def test_an_unknown_api_url_is_a_korean_404_without_accept_language(alice_client):
    error = error_of(alice_client.get("/api/v1/no-such-thing"), 404)

    assert (error["code"], error["message"]) == ("not_found", "찾을 수 없습니다.")


def test_drfs_half_english_korean_is_replaced_by_the_projects(alice_client):
    response = alice_client.post("/api/v1/chat", {"message": "  "}, format="json")

    assert error_of(response, 400)["details"] == {"message": ["이 필드는 비워 둘 수 없습니다."]}


# --- English when asked ----------------------------------------------------------------------------


def test_a_project_error_is_english_when_asked(alice_client):
    error = error_of(apply_unknown_coupon(alice_client, **ENGLISH), 404)

    assert error == {"code": "coupon_not_found", "message": "Coupon NOPE was not found.", "details": None}


def test_a_permission_error_is_english_when_asked(alice_client, bob_client):
    error = error_of(someone_elses_profile(alice_client, bob_client, **ENGLISH), 403)

    assert (error["code"], error["message"]) == ("permission_denied", "You can only access your own data.")


def test_a_drf_field_error_is_english_when_asked(api_client):
    error = error_of(token_without_password(api_client, **ENGLISH), 400)

    assert error["message"] == "password: This field is required."


def test_an_unknown_api_url_is_an_english_404_when_asked(alice_client):
    error = error_of(alice_client.get("/api/v1/no-such-thing", **ENGLISH), 404)

    assert (error["code"], error["message"]) == ("not_found", "Not found.")


def test_a_regional_english_tag_is_english(alice_client):
    error = error_of(apply_unknown_coupon(alice_client, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"), 404)

    assert error["message"] == "Coupon NOPE was not found."


def test_the_openai_compatible_api_follows_accept_language(alice_client):
    korean = error_of(alice_client.get("/v1/models/rag:nowhere"), 404)
    english = error_of(alice_client.get("/v1/models/rag:nowhere", **ENGLISH), 404)

    assert korean["message"] == "`rag:nowhere` 모델이 없거나 접근 권한이 없습니다."
    assert english["message"] == "The model `rag:nowhere` does not exist or you do not have access to it."
    assert korean["code"] == english["code"] == "model_not_found"


# --- unsupported languages, one language per response ---------------------------------------------


def test_an_unsupported_language_gets_korean(alice_client):
    response = apply_unknown_coupon(alice_client, HTTP_ACCEPT_LANGUAGE="fr")

    assert error_of(response, 404)["message"] == "NOPE 쿠폰을 찾을 수 없습니다."
    assert response["Content-Language"] == "ko-kr"


def test_the_first_supported_language_in_preference_order_wins(alice_client):
    response = apply_unknown_coupon(alice_client, HTTP_ACCEPT_LANGUAGE="fr, en;q=0.8, ko;q=0.5")

    assert error_of(response, 404)["message"] == "Coupon NOPE was not found."


@pytest.mark.parametrize(("headers", "in_korean"), [({}, True), (ENGLISH, False)])
def test_drf_field_errors_and_project_messages_of_one_response_share_its_language(alice_client, headers, in_korean):
    # rag_key and doc_schema: DRF's "required"; the image: the project's "Not valid base64."
    body = {"event_type": "create", "record": {}, "images": [{"data": "not base64!"}]}

    error = error_of(alice_client.post("/api/v1/rag/sync", body, format="json", **headers), 400)

    messages = messages_in(error["details"])
    assert {"rag_key", "doc_schema", "images"} <= set(error["details"])
    assert [bool(HANGUL.search(message)) for message in [error["message"], *messages]] == [in_korean] * (
        1 + len(messages)
    )


@pytest.mark.parametrize(("headers", "in_korean"), [({}, True), (ENGLISH, False)])
def test_a_whole_error_body_is_hangul_or_ascii(alice_client, headers, in_korean):
    body = alice_client.put("/api/v1/users/me/preferences", {"budget": -1}, format="json", **headers).content

    text = body.decode()
    assert bool(HANGUL.search(text)) is in_korean
    assert text.isascii() is not in_korean


def test_the_language_of_one_request_does_not_leak_into_the_next(alice_client):
    apply_unknown_coupon(alice_client, **ENGLISH)

    assert error_of(apply_unknown_coupon(alice_client), 404)["message"] == "NOPE 쿠폰을 찾을 수 없습니다."


# --- headers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "language"), [({}, "ko-kr"), (ENGLISH, "en")])
def test_api_responses_say_their_language(alice_client, headers, language):
    response = alice_client.get("/api/v1/me", **headers)

    assert response.status_code == 200
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]


# --- the admin -------------------------------------------------------------------------------------


def test_the_admin_stays_korean_when_the_browser_asks_for_english(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ko-kr"' in page
    assert "로그인" in page and "Log in" not in page
    assert "Content-Language" not in response
