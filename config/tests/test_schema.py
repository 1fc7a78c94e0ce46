"""The OpenAPI schema an integrator reads: tags, summaries, auth schemes and documented errors."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from config.api.schema import BLANK_FORM_VALUE, operations
from config.api.tags import TAGS

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_operation_has_exactly_one_known_tag(schema):
    known = {tag["name"] for tag in TAGS}
    for path, method, operation in operations(schema):
        assert len(operation["tags"]) == 1 and operation["tags"][0] in known, (method, path, operation["tags"])


def test_every_tag_is_described_once(schema):
    names = [tag["name"] for tag in schema["tags"]]
    assert len(names) == len(set(names))
    assert all(tag["description"] for tag in schema["tags"])


def test_every_operation_has_a_one_line_summary(schema):
    for path, method, operation in operations(schema):
        summary = operation.get("summary") or ""
        assert summary and "\n" not in summary, (method, path)


def test_every_operation_documents_its_errors_with_the_error_schema(schema):
    for path, method, operation in operations(schema):
        if path.startswith("/v1/"):
            continue  # OpenAI's own error shape
        errors = {status: body for status, body in operation["responses"].items() if status.startswith(("4", "5"))}
        assert "429" in errors, (method, path)
        for status, body in errors.items():
            if status == "503":
                continue  # health answers its own report body when a service is down
            assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_operations_with_credentials_document_401_and_403(schema):
    for path, method, operation in operations(schema):
        if operation.get("security") and not path.startswith("/v1/"):
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_path_parameters_document_404(schema):
    for path, method, operation in operations(schema):
        if "{" in path:
            assert "404" in operation["responses"], (method, path)


def test_coupon_apply_documents_its_own_errors(schema):
    responses = schema["paths"]["/api/v1/coupons/apply"]["post"]["responses"]
    assert "coupon_not_found" in responses["404"]["description"]
    assert "insufficient_balance" in responses["409"]["description"]
    assert "coupon_not_applicable" in responses["422"]["description"]


def test_upload_documents_both_answers_of_a_stored_file(schema):
    responses = schema["paths"]["/api/v1/rag/upload"]["post"]["responses"]
    assert "unchanged" in responses["200"]["description"]
    assert "queued" in responses["202"]["description"]


def test_search_documents_form_filters_as_json_text(schema):
    content = schema["paths"]["/api/v1/rag/search"]["post"]["requestBody"]["content"]
    for media_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        assert content[media_type]["encoding"]["filters"]["contentType"] == "application/json"


def test_form_bodies_may_leave_only_optional_fields_blank(schema):
    content = schema["paths"]["/api/v1/rag/search"]["post"]["requestBody"]["content"]
    form = schema["components"]["schemas"]["SearchRequestForm"]

    assert content["application/json"]["schema"]["$ref"].endswith("/SearchRequest")
    assert content["multipart/form-data"]["schema"]["$ref"].endswith("/SearchRequestForm")
    blank_allowed = {name for name, field in form["properties"].items() if BLANK_FORM_VALUE in field.get("anyOf", [])}
    assert blank_allowed == {"rag_type", "limit", "mode", "filters"}


def test_dining_operations_do_not_offer_partner_keys(schema):
    security = schema["paths"]["/api/v1/chat"]["post"]["security"]
    assert {"tokenAuth"} in [set(s) for s in security]
    assert not any("partnerApiKey" in s for s in security)


def test_partner_session_operations_offer_only_partner_keys(schema):
    security = schema["paths"]["/api/v1/partners/chat/warmup"]["post"]["security"]
    assert security == [{"partnerApiKey": []}]


def test_staff_only_operations_do_not_offer_partner_keys(schema):
    security = schema["paths"]["/api/v1/analytics/logs"]["get"]["security"]
    assert not any("partnerApiKey" in s for s in security)


def test_auth_schemes_explain_their_header_prefix(schema):
    schemes = schema["components"]["securitySchemes"]
    assert "Token <token>" in schemes["tokenAuth"]["description"]
    assert "Api-Key <prefix>.<secret>" in schemes["partnerApiKey"]["description"]


def test_health_takes_no_credentials_and_documents_no_401(schema):
    operation = schema["paths"]["/api/v1/health"]["get"]
    assert not operation.get("security")
    assert "401" not in operation["responses"]


@pytest.mark.parametrize("path", ["/api/v1/chat", "/api/v1/rag/chat", "/api/v1/partners/chat/warmup"])
def test_chat_request_examples_work_as_they_stand(schema, path):
    content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    [example] = content["examples"].values()
    body = example["value"]

    assert "conversation_id" not in body and not ("session_id" in body and path == "/api/v1/chat")
    if "location" in body:
        assert 33 < body["location"]["latitude"] < 39 and 124 < body["location"]["longitude"] < 132  # in Korea


def test_the_dining_example_body_is_answered(alice_client, schema):
    content = schema["paths"]["/api/v1/chat"]["post"]["requestBody"]["content"]["application/json"]
    [example] = content["examples"].values()

    assert alice_client.post("/api/v1/chat", example["value"], format="json").status_code == 200


def test_the_openai_api_documents_its_errors_in_openais_shape(schema):
    responses = schema["paths"]["/v1/chat/completions"]["post"]["responses"]

    for status in ("400", "401", "403", "404", "429"):
        assert responses[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/OpenAIError"
        }


def test_an_operation_with_a_body_documents_the_415_of_a_content_type_it_does_not_read(schema):
    for path, method, operation in operations(schema):
        if operation.get("requestBody") and not path.startswith("/v1/"):
            assert "415" in operation["responses"], (method, path)


def test_a_paginated_list_documents_the_404_of_a_page_past_the_last(schema):
    for path, method, operation in operations(schema):
        if any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
            assert "404" in operation["responses"], (method, path)


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/v1/rag/chat", "post", "404"),  # another user's conversation_id
        ("/api/v1/rag/chat/stream", "post", "404"),
        ("/api/v1/rag/chat/regenerate", "post", "404"),
        ("/api/v1/rag/chat", "post", "503"),  # the model did not answer
        ("/api/v1/partners/chat/message", "post", "404"),  # a session not warmed up
        ("/api/v1/rag/search", "post", "404"),  # a partner naming a rag_key it does not own
        ("/api/v1/rag/upload", "post", "404"),
        ("/api/v1/rag/upload", "post", "413"),
        ("/api/v1/rag/sync", "post", "404"),
        ("/api/v1/ml/training-jobs", "post", "409"),
        ("/api/v1/ml/training-jobs/{id}/cancel", "post", "409"),
    ],
)
def test_an_error_named_by_the_body_is_documented(schema, path, method, status):
    assert status in schema["paths"][path][method]["responses"]
