"""Schemathesis over /api/schema/: generated valid and invalid requests to every operation, as each kind
of caller, get no 5xx and no response that contradicts the schema (a few examples per operation; the
longer run is `manage.py fuzz_api`)."""

import pytest

from config.fuzzing import CHECKS, PERSONAS, fuzz, load_schema, persona_headers


# transaction=True: requests go through the WSGI handler and the streaming views' database steps, which
# close the connection after each use, as in production; a test transaction would not survive that.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", PERSONAS)
def test_generated_requests_get_no_server_error_and_match_the_schema(persona, settings):
    settings.API_RATE_LIMIT = "1000000/min"  # hundreds of requests from one caller, on purpose
    api_schema = load_schema()

    report = fuzz(api_schema, persona_headers(persona), max_examples=3, label=persona)

    assert report.requests >= len(list(api_schema.get_all_operations()))  # every operation was called
    assert report.failures == {}, "\n".join(report.lines())


EXPORTS = [
    ("/api/v1/analytics/export/logs", {"output": "json"}),
    ("/api/v1/analytics/export/statistics", {"output": "json"}),
    ("/api/v1/analytics/archive/logs", {"output": "json", "date_from": "2026-01-01", "date_to": "2026-12-31"}),
    ("/api/v1/ml/training-data/export", {"file_format": "json", "model_type": "rag"}),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("path", "query"), EXPORTS)
def test_a_json_export_matches_its_documented_body(path, query, settings):
    # The bounded run above seldom asks for the JSON format; the longer one found it documented as a binary file.
    from analytics.services.message_logs import flush_log_outbox, record_exchange

    record_exchange(channel="knowledge", collection_name="faq", session_id="s-1", user_message="환불 기간은?",
                    assistant_message="7일입니다.")  # fmt: skip
    flush_log_outbox()
    case = load_schema()[path]["GET"].Case(query=query)

    response = case.call(headers=persona_headers("staff"))

    assert response.status_code == 200
    assert response.headers["content-type"][0].startswith("application/json")
    case.validate_response(response, checks=CHECKS)
