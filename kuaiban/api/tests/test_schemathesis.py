"""Property-based check of the whole REST API against its own OpenAPI document.

Schemathesis reads /api/v1/openapi.json from the WSGI application, generates requests for every
operation (bounded: a few dozen examples each, no deadline), sends them through the same WSGI
app as a supervisor with a bearer token, and checks that no answer is a 5xx and that every
answer matches the status codes, content type and schema the document declares.

A second pass generates only negative data (values the document forbids: wrong types, dates out
of range, unknown fields, NUL and other characters in every string) as an operator: every such
request must be refused with a 4xx, never a 5xx, and never accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import (  # type: ignore[attr-defined]
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kuaiban.org.models import User
from kuaiban.org.services import token_create
from kuaiban.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# Both valid and invalid data, NUL characters included (the defaults, said here on purpose).
schema.config.generation.update(modes=list(GenerationMode), allow_x00=True)
negative = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# Unknown query-string parameters are ignored (as on the web pages); unknown body fields are
# refused (extra="forbid"), which the documents' additionalProperties: false lets it test.
negative.config.generation.update(
    modes=[GenerationMode.NEGATIVE], allow_x00=True, allow_extra_parameters=False
)

# Every answer: never a 5xx; a documented status has the documented content type and schema.
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture
def supervisor_token(county: Any) -> Iterator[str]:
    # The WSGI app is called directly (not through Django's test client), so keep Django from
    # closing the test's database connection at the end of each request, as the client does.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield token_create(user=User.objects.get(username="supervisor"), name="schemathesis")
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_schema(case: Any, supervisor_token: str) -> None:
    headers = {"Authorization": f"Bearer {supervisor_token}"}
    response = case.call(headers=headers)
    checks = list(CHECKS)
    if case.meta is None or not case.meta.generation.mode.is_negative:
        # A valid request must get a status code the document declares. (Deliberately invalid
        # ones — a dropped Authorization header, a wrong method — may get any 4xx.)
        checks.append(status_code_conformance)
    case.validate_response(response, checks=checks, headers=headers)


@pytest.fixture
def operator_token(supervisor_token: str) -> str:
    return token_create(user=User.objects.get(username="operator"), name="schemathesis-negative")


@pytest.mark.django_db
@negative.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_refuses_what_its_schema_forbids(case: Any, operator_token: str) -> None:
    headers = {"Authorization": f"Bearer {operator_token}"}
    response = case.call(headers=headers)
    checks = [not_a_server_error, content_type_conformance]
    if not _unknown_query_parameters(case):
        checks.append(negative_data_rejection)
    case.validate_response(response, checks=checks, headers=headers)


def _unknown_query_parameters(case: Any) -> bool:
    """A query parameter turned into an object is sent as parameters of other names (form
    style, exploded), which the API ignores like any unknown query parameter."""
    declared = {p.name for p in case.operation.query}
    query = case.query or {}
    return any(isinstance(v, dict) for v in query.values()) or any(k not in declared for k in query)
