"""Query parameters mean what the schema says: a value given must be valid (400 naming it otherwise), a blank one
is not given. Before, `?is_active=yes`, `?regenerated=1` and `?page_size=abc` were silently ignored."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from analytics.tests.factories import exchange
from chat.models import Partner
from chat.tests.dining_factories import make_chat_user
from config.api.schema import operations
from config.tests.test_errors import assert_error

pytestmark = pytest.mark.django_db

STAFF_PREFIXES = ("/api/v1/analytics/", "/api/v1/ml/", "/api/v1/partners")


def partner_ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["partner_id"] for row in response.json()["results"])


@pytest.fixture
def partners(db):
    Partner.objects.create(partner_id="on", name="On", is_active=True)
    Partner.objects.create(partner_id="off", name="Off", is_active=False)


@pytest.mark.parametrize(("value", "expected"), [("true", ["on"]), ("True", ["on"]), ("1", ["on"]),
                                                  ("false", ["off"]), ("0", ["off"]), ("", ["off", "on"])])  # fmt: skip
def test_a_boolean_filter_reads_true_false_1_0_and_blank_as_not_given(staff_client, partners, value, expected):
    assert partner_ids(staff_client.get(f"/api/v1/partners?is_active={value}")) == expected


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/v1/partners", "is_active"),
        ("/api/v1/ml/model-versions", "is_active"),
        ("/api/v1/analytics/logs", "regenerated"),
        ("/api/v1/analytics/logs", "has_error"),
        ("/api/v1/analytics/conversations", "is_sampled"),
    ],
)
@pytest.mark.parametrize("value", ["yes", "2", "maybe"])
def test_a_boolean_filter_that_is_neither_true_nor_false_is_400(staff_client, path, parameter, value):
    error = assert_error(staff_client.get(f"{path}?{parameter}={value}"), 400, "invalid")

    assert set(error["details"]) == {parameter}


def test_a_regenerated_filter_of_1_lists_only_regenerations(staff_client):
    exchange(session_id="first")
    exchange(session_id="again", regenerated=True)

    response = staff_client.get("/api/v1/analytics/logs?regenerated=1&message_type=assistant")

    assert response.status_code == 200
    assert [row["session_id"] for row in response.json()["results"]] == ["again"]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "201", "99999999999999999999"])
def test_a_page_size_outside_1_to_200_is_400(staff_client, partners, value):
    error = assert_error(staff_client.get(f"/api/v1/partners?page_size={value}"), 400, "invalid")

    assert set(error["details"]) == {"page_size"}


@pytest.mark.parametrize(("value", "on_the_page"), [("1", 1), ("200", 2), ("", 2)])
def test_a_page_size_from_1_to_200_sizes_the_page(staff_client, partners, value, on_the_page):
    body = staff_client.get(f"/api/v1/partners?page_size={value}").json()

    assert (body["count"], len(body["results"])) == (2, on_the_page)


def test_the_schema_bounds_page_and_page_size():
    parameters = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/partners"]["get"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in parameters["parameters"]}

    assert (schemas["page"]["minimum"], schemas["page_size"]["minimum"], schemas["page_size"]["maximum"]) == (1, 1, 200)


REQUIRED_VALUES = {"date_from": "2026-01-01", "date_to": "2026-01-02", "model_type": "nlu", "collection": "handbook"}


def optional_query_parameters():
    """(path, parameter, the operation's required query) for every optional query parameter of every GET
    operation, from the schema."""
    for path, method, operation in operations(SchemaGenerator().get_schema(request=None, public=True)):
        if method != "get":
            continue
        query = [parameter for parameter in operation.get("parameters", []) if parameter["in"] == "query"]
        required = "&".join(f"{p['name']}={REQUIRED_VALUES[p['name']]}" for p in query if p.get("required"))
        for parameter in query:
            if not parameter.get("required"):
                yield path, parameter, required


def test_every_optional_query_parameter_is_documented_as_allowing_a_blank_value():
    parameters = list(optional_query_parameters())

    assert len(parameters) > 50
    assert all(parameter.get("allowEmptyValue") is True for _, parameter, _ in parameters)


def test_a_blank_optional_query_parameter_answers_as_if_it_were_not_given(alice_client, staff_client, settings):
    """What allowEmptyValue promises, checked on every GET operation that takes query parameters."""
    settings.API_RATE_LIMIT = "100000/min"
    chat_user = make_chat_user(alice_client.user)
    exchange()
    checked = 0
    for path, parameter, required in optional_query_parameters():
        if "{session_id}" in path:
            continue  # a partner session that is not there is a 404 either way
        url = path.replace("{user_id}", str(chat_user.pk))
        client = staff_client if url.startswith(STAFF_PREFIXES) else alice_client
        without = client.get(f"{url}?{required}")
        blank = client.get(f"{url}?{required}&{parameter['name']}=")
        assert without.status_code == 200, (path, without.getvalue()[:300])
        assert (blank.status_code, blank.getvalue()) == (200, without.getvalue()), (path, parameter["name"])
        checked += 1
    assert checked > 50
