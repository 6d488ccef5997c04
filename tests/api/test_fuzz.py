"""Fuzz every operation from the API's own OpenAPI document, in-process, with a fixed seed.

Schemathesis generates valid and invalid requests from the schemas; with every default check
on, each response must not be a 5xx, must match the documented status codes, media types and
response schemas, every schema-violating request must be refused, and every schema-valid one
accepted. The only refusals of schema-valid data allowed are the domain rules JSON Schema
cannot say, listed in DOMAIN_RULES with why.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData

from tests.db import ON_POSTGRES

pytestmark = pytest.mark.slow

#: A fragment of a 422's error message → why the document cannot rule it out.
DOMAIN_RULES = {
    "unknown ward code": "whether a well-formed code names one of the 2025 wards is the "
    "gazetteer's data (3,321 codes), not a pattern",
    "unknown province code": "whether a well-formed code names one of the 34 provinces is the "
    "gazetteer's data, not a pattern (planning scopes must be real provinces)",
    "cannot resolve": "whether a free-text address names a ward is decided by the gazetteer",
    "unknown worker": "a cross-reference must name a record that exists",
    "unknown course": "a cross-reference must name a record that exists",
    "unknown enterprise": "a cross-reference must name a record that exists",
    "unknown commitment": "a cross-reference must name a record that exists",
    "disagree": "an id and an external id must name the same record",
    "missing required column 'enterprise_external_id'": "required unless the caller is an "
    "enterprise token (which uses its own); the document is the same for every role",
    "is before": "the order of two dates of one record (JSON Schema cannot compare fields)",
    "must be between": "an outcome's dates against the referral's stored dates and today",
    "needs hired_on": "left_on needs a hire date, given here or already stored",
    "only for hired referrals": "depends on the referral's stored status",
    "in the future": "depends on today's date",
    "/file-format": "an uploaded file's contents are read by the import rules "
    "(docs/import-format.md), not by JSON Schema",
    "invisible character U+1": "an invisible character above U+FFFF in an identifier: a "
    "JavaScript pattern (no u flag) cannot name it, so the document leaves it out",
    "invisible character U+E": "the same, for the tag characters U+E0001…",
    "trade given": "an ISCO code must belong to the trade (the taxonomy's data)",
    "names no stored model version": "a cursor of GET /models names a stored version",
}


def _domain_refusal(failure: Failure, response) -> bool:
    """A 422 for schema-valid data whose every reason is one of DOMAIN_RULES."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return False
    body = json.loads(response.content)
    if body["type"].endswith("/file-format"):
        return True  # see DOMAIN_RULES["file-format"]
    reasons = [e["message"] for e in body.get("errors") or []] or [body["detail"]]
    return all(any(rule in reason for rule in DOMAIN_RULES) for reason in reasons)


def filter_query(ctx, query):
    """Drop generated queries with an empty parameter name: HTTP clients drop "&=" before
    sending, so the server never sees the violation schemathesis expects it to reject."""
    return not query or "" not in query


@pytest.fixture
def api_schema(app, world):
    # Schemathesis presents thousands of wrong tokens on purpose (its ignored_auth check);
    # the bad-token limit itself is tested in test_security.
    app.config["BAD_TOKEN_LIMIT"] = "1000000 per minute"
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    loaded.hooks.register_hook_with_name(filter_query, "filter_query")
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    # 30 generated requests per operation on SQLite; on PostgreSQL, where what is new is the
    # persistence path under each operation, 15 (the suite's time stays under the bar).
    max_examples=15 if ON_POSTGRES else 30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_survives_fuzzing(case, world):
    # identity: the checks read the body as sent; compression is the transport's (tested in
    # tests/api/test_pages.py and the browser tests).
    headers = {"Authorization": f"Bearer {world.tokens['admin']}", "Accept-Encoding": "identity"}
    response = case.call(headers=headers)
    try:
        case.validate_response(response, headers=headers)
    except (FailureGroup, Failure) as error:
        failures = error.exceptions if isinstance(error, FailureGroup) else (error,)
        if not all(_domain_refusal(failure, response) for failure in failures):
            raise
