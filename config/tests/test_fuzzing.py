"""Schemathesis over /api/schema/: generated valid and invalid requests to every operation, as each kind
of caller, get no 5xx and no response that contradicts the schema (a few examples per operation; the
longer run is `manage.py fuzz_api`)."""

import pytest

from config.fuzzing import PERSONAS, fuzz, load_schema, persona_headers


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
