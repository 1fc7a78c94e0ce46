"""Schema-driven fuzzing of the whole API with schemathesis, as an end user, a staff user and a partner.

Every operation of `/api/schema/` is called with requests schemathesis generates from the schema
(in-process through the WSGI application, against the configured database), and each response is
checked: no 5xx, every status answered is documented, a response matches its documented schema and
content type, and a request the schema does not allow is refused with a 4xx. Used by
`config/tests/test_fuzzing.py` (a few examples per operation) and by `manage.py fuzz_api` (as many as asked for).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import hypothesis
import schemathesis
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from chat.models import Partner, PartnerApiKey
from config.benchmarks import api_token_for

# status_code_conformance: every status an operation answers is documented (a 404 for an object named in the body
# too), so that an integrator reading the schema knows every answer to expect. negative_data_rejection: a request
# the schema does not allow is refused with a 4xx, not read some other way (a boolean filter of "yes", a page_size
# of "abc", a form-encoded body that cannot carry the nested objects it names were all answered 200). DRF's
# coercions that keep a value's meaning stay ("5000" where a number belongs); schemathesis has not sent one yet.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
    negative_data_rejection,
]
PERSONAS = ("user", "staff", "partner")


@dataclass
class FuzzReport:
    """Per operation: how many requests were sent and the first failure schemathesis found."""

    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)

    def lines(self) -> Iterator[str]:
        for label, failure in sorted(self.failures.items()):
            yield f"{label}: {failure}"


def persona_headers(persona: str) -> dict[str, str]:
    """The Authorization header of a fuzzing account of that kind (created on first use)."""
    if persona == "partner":
        partner, _ = Partner.objects.get_or_create(partner_id="fuzz-partner", defaults={"name": "Fuzz partner"})
        _, key = PartnerApiKey.issue(partner)
        return {"Authorization": f"Api-Key {key}"}
    return {"Authorization": f"Token {api_token_for(f'fuzz-{persona}', staff=persona == 'staff')}"}


def strategy_for(operation):
    """Valid requests and invalid ones (wrong types, missing fields...): neither may get a 5xx."""
    return hypothesis.strategies.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )


def checks_for(operation) -> list:
    """CHECKS; an operation that documents a 5xx (health: 503 naming what is down) may answer it."""
    documented = operation.definition.raw.get("responses", {})
    if any(str(status).startswith("5") for status in documented):
        return [check for check in CHECKS if check is not not_a_server_error]
    return CHECKS


def load_schema():
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


def fuzz(schema, headers: dict[str, str], *, max_examples: int, label: str = "", seed: int | None = None) -> FuzzReport:
    """Send up to `max_examples` generated requests to each operation with `headers`; report failures.

    Without a seed the run is deterministic (derandomised Hypothesis, no example database), so the
    bounded run in the test suite sends the same requests every time; a seed picks other examples.
    """
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{label} {operation.method.upper()} {operation.path}".strip()
        try:
            _fuzz_operation(operation, headers, report, max_examples=max_examples, seed=seed)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises one error naming every failed check
            report.failures[name] = " ".join(str(exc).split())[:600]
    return report


def _fuzz_operation(
    operation, headers: dict[str, str], report: FuzzReport, *, max_examples: int, seed: int | None
) -> None:
    checks = checks_for(operation)

    @hypothesis.settings(
        max_examples=max_examples,
        derandomize=seed is None,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=strategy_for(operation))
    def call(case):
        report.requests += 1
        response = case.call(headers=headers)
        case.validate_response(response, checks=checks)

    (call if seed is None else hypothesis.seed(seed)(call))()
