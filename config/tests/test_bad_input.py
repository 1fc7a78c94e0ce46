"""Hostile input gets a 4xx in the API's error format (the admin a 4xx or an ignored filter), never a 500."""

import io
import json

import pytest
from django.test import Client, override_settings
from django.urls import get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from chat.tests.dining_factories import make_chat_user
from config.api.parsers import MAX_JSON_DEPTH, JSONParser
from config.api.schema import operations
from config.tests.test_errors import assert_error
from rag.tests.helpers import add_document

pytestmark = pytest.mark.django_db

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def nested(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "[]" + "}" * (depth - 1)


@pytest.fixture
def admin_client(django_user_model):
    client = Client()
    client.user = django_user_model.objects.create_superuser("root", password="pw-root")
    client.force_login(client.user)
    return client


# --- values the URL or a view cannot use -----------------------------------------------------


def test_a_unicode_digit_as_user_id_is_404_not_500(alice_client):
    make_chat_user(alice_client.user)

    assert_error(alice_client.get("/api/v1/users/%C2%B2/profile"), 404, "not_found")


def test_nul_byte_in_the_partner_session_path_is_400(partner_client):
    assert_error(partner_client.get("/api/v1/partners/chat/sessions/a%00b"), 400, "invalid")


def test_nul_byte_in_the_partner_id_query_parameter_is_400(staff_client):
    assert_error(staff_client.get("/api/v1/partners/chat/sessions/s-1?partner_id=a%00b"), 400, "invalid")


@pytest.mark.parametrize("filters", [{"tag\x00": "x"}, {"tag": "x\x00y"}, {"tag": ["ok", "x\x00"]}])
def test_nul_character_in_search_filters_is_400(alice_client, filters):
    body = {"query": "급식카드", "rag_key": "guide", "rag_type": "user_isolated", "filters": filters}

    error = assert_error(alice_client.post("/api/v1/rag/search", body, format="json"), 400, "invalid")
    assert "NUL" in error["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/chat", {"message": "안녕", "location": {"latitude": True, "longitude": 127.0}}, "latitude"),
        ("/api/v1/chat", {"message": "안녕", "location": {"latitude": 37.5, "longitude": False}}, "longitude"),
        ("/api/v1/rag/chat", {"message": "환불은?", "rag_key": "guide", "temperature": True}, "temperature"),
        ("/api/v1/rag/chat", {"message": "환불은?", "rag_key": "guide", "top_p": True}, "top_p"),
    ],
)
def test_a_boolean_where_a_number_belongs_is_400_not_read_as_1(alice_client, path, body, field):
    make_chat_user(alice_client.user)

    error = assert_error(alice_client.post(path, body, format="json"), 400, "invalid")
    assert field in error["message"]


def test_nul_character_anywhere_in_a_json_body_is_400(alice_client):
    response = alice_client.post("/api/v1/chat", {"message": "안녕\x00"}, format="json")

    assert_error(response, 400, "invalid")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/partners/chat/warmup",
            '{"session_id": "s-1", "initial_data": {"health_data": "혈압 \\ud800", "patient_info": {"\\udfff": "x"}}}',
        ),
        ("/api/v1/rag/search", '{"query": "반환", "rag_key": "medilinx", "filters": {"tag": "\\ud800"}}'),
    ],
)
def test_an_unpaired_surrogate_anywhere_in_a_json_body_is_400_not_a_500(partner_client, path, body):
    """It has no UTF-8 form: in a partner's initial_data it reached a jsonb column and PostgreSQL refused it (500)."""
    error = assert_error(partner_client.post(path, body, content_type="application/json"), 400, "invalid")

    assert "surrogate" in error["message"]


def test_a_surrogate_pair_is_a_character_like_any_other():
    body = '{"message": "\\ud83d\\ude00 안녕"}'.encode()

    assert JSONParser().parse(io.BytesIO(body)) == {"message": "😀 안녕"}


@pytest.mark.parametrize("number", ["1e999", "-1e999"])
@pytest.mark.parametrize("filters", ['{"tag": %s}', '{"tags": [%s]}'])
def test_a_number_too_large_for_a_double_in_search_filters_is_400_not_a_500(alice_client, number, filters):
    """1e999 is read as infinity, which PostgreSQL refused as jsonb once the filters reached the query."""
    add_document("회사 반환 정책: 구매 후 7일 이내 환불", doc_id="policy")
    body = '{"query": "반환 정책", "rag_key": "kb", "rag_type": "chatbot_shared", "filters": %s}' % (filters % number)

    response = alice_client.post("/api/v1/rag/search", body, content_type="application/json")

    error = assert_error(response, 400, "parse_error")
    assert "너무 커서" in error["message"]


def test_a_large_finite_number_is_still_read():
    assert JSONParser().parse(io.BytesIO(b'{"n": 1e308, "m": 123456789012345678901234567890}')) == {
        "n": 1e308,
        "m": 123456789012345678901234567890,
    }


# --- JSON nested absurdly deep ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/chat", "/api/v1/rag/search", "/api/v1/auth/token", "/api/v1/rag/chat/stream", "/api/v1/rag/chat"]
)
def test_json_nested_100000_levels_is_a_400_parse_error(alice_client, path):
    response = alice_client.post(path, DEEP_JSON, content_type="application/json")

    error = assert_error(response, 400, "parse_error")
    assert f"중첩이 {MAX_JSON_DEPTH}단계보다 깊습니다" in error["message"]


def test_json_parser_accepts_the_depth_limit_and_refuses_one_more():
    parser = JSONParser()

    assert parser.parse(io.BytesIO(nested(MAX_JSON_DEPTH).encode())) is not None
    with pytest.raises(ParseError):
        parser.parse(io.BytesIO(nested(MAX_JSON_DEPTH + 1).encode()))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/x-www-form-urlencoded", "message=hi&location="), ("multipart/form-data; boundary=b", "--b--")],
)
def test_a_form_body_where_json_belongs_is_415(alice_client, content_type, body):
    """A form cannot carry the nested `location` the schema describes: `location=` was read as no location."""
    assert_error(alice_client.post("/api/v1/chat", body, content_type=content_type), 415, "unsupported_media_type")


def test_only_upload_and_search_document_a_form_body():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    with_forms = {
        path
        for path, _, operation in operations(schema)
        if "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    }

    assert with_forms == {"/api/v1/rag/upload", "/api/v1/rag/search"}


# --- what Django answers before DRF: body too large, unknown URL ------------------------------------


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_413_in_the_error_format(alice_client):
    response = alice_client.post("/api/v1/chat", json.dumps({"message": "가" * 2000}), content_type="application/json")

    assert_error(response, 413, "request_too_large")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_413_on_an_anonymous_endpoint_too(api_client):
    body = json.dumps({"username": "x" * 2000, "password": "y"})

    assert_error(api_client.post("/api/v1/auth/token", body, content_type="application/json"), 413, "request_too_large")


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/api/v1/no-such-thing", "/api/v1/users/1/profile/extra"])
def test_unknown_api_url_is_a_json_404_even_with_debug_on(alice_client, settings, path):
    settings.DEBUG = True

    assert_error(alice_client.get(path), 404, "not_found")


def test_pages_outside_the_api_keep_their_html_404(alice_client, settings):
    settings.DEBUG = True

    response = alice_client.get("/no-such-page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- the admin --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "99999999999999999999999", "-1"])
def test_admin_conversation_list_answers_an_odd_user_filter_without_error(admin_client, value):
    response = admin_client.get("/admin/chat/conversation/", {"chat_user": value})

    assert response.status_code == 200


def test_admin_conversation_list_refuses_a_nul_byte_in_the_user_filter(admin_client):
    response = admin_client.get("/admin/chat/conversation/?chat_user=a%00b")

    assert response.status_code == 400


def test_admin_search_with_a_nul_byte_is_400_not_500(admin_client):
    assert admin_client.get("/admin/chat/conversation/?q=a%00b").status_code == 400


def changelists_with_date_hierarchy():
    from django.contrib import admin

    return [
        pytest.param(model, model_admin.date_hierarchy, id=model._meta.label)
        for model, model_admin in admin.site._registry.items()
        if model_admin.date_hierarchy
    ]


@pytest.mark.parametrize(("model", "field"), changelists_with_date_hierarchy())
@pytest.mark.parametrize("year", ["9999", "99999999999999999999"])
def test_a_date_hierarchy_year_no_date_can_be_built_from_is_refused_not_a_500(admin_client, model, field, year):
    # 9999's end (year 10000) does not exist; the long one overflows: Django refuses only a ValueError itself.
    response = admin_client.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/", {f"{field}__year": year})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("value", ["²", "a\x00b", "99999999999999999999", "9999-99-99", "🚀"])
def test_no_changelist_filter_answers_a_hostile_value_with_a_500(admin_client, value):
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = admin_client.user
    failures = []
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        specs = model_admin.get_changelist_instance(request).filter_specs
        for name in sorted({name for spec in specs for name in spec.expected_parameters()}):
            status = admin_client.get(url, {name: value}).status_code
            if status >= 500:
                failures.append(f"{url}?{name}={value!r}: {status}")

    assert failures == []


def test_every_api_view_parses_json_with_the_limited_parser():
    def views(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from views(pattern.url_patterns)
            else:
                yield getattr(pattern.callback, "cls", None)

    unlimited = [
        view.__name__
        for view in views(get_resolver().url_patterns)
        if view is not None and parsers.JSONParser in getattr(view, "parser_classes", ())
    ]
    assert unlimited == []


def test_a_browser_keeps_the_browsable_api_error_page_and_its_headers(api_client):
    response = api_client.get("/api/v1/me", HTTP_ACCEPT="text/html")

    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/html")
    assert response["WWW-Authenticate"] == "Api-Key"
