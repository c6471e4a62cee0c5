"""Contract fuzzing: schemathesis drives every operation of the OpenAPI document against a live server.

The server is the production stack (uvicorn, uvloop, httptools) on the test database. For each operation,
as a customer and as an admin, schemathesis sends its examples, boundary ("coverage") cases and
property-based cases, schema-valid and schema-violating, and checks every answer:

- never a 5xx;
- status code, content type, body and declared headers as the document says (`X-Request-ID` everywhere,
  `WWW-Authenticate` on 401s, `Retry-After` on 429s);
- schema-violating requests are refused (4xx);
- schema-valid requests are refused only for rules a JSON Schema cannot state (INEXPRESSIBLE below).

POST /auth/logout and POST /users/me/password end the caller's session, so the shared run leaves them out
and `test_session_ending_operations` fuzzes them with a fresh login session for every case.
"""

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from app.main import app as service_app
from tests.conftest import Account
from tests.servers import ServiceProcess

MAX_EXAMPLES = 50  # per operation and generation mode, on top of the boundary cases
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "allow_header_conformance",
    "missing_required_header",
]
SESSION_ENDING = ["/auth/logout", "/users/me/password"]

# 422 error types that a schema-valid request can still earn: rules about state or several fields at once.
INEXPRESSIBLE = {
    "cursor_invalid": "cursors are opaque; only ones the service issued are accepted",
    "product_unavailable": "an order line must name an existing product that is for sale",
    "duplicate_product": "each product at most once per order (items are objects, uniqueItems cannot say it)",
    "range_empty": "`end` / `created_to` must be later than `start` / `created_from`",
    "too_many_points": "a revenue series holds at most 1000 periods",
    "datetime_range": "a bound's UTC form, or the default `start` 30 days before `end`, must stay within years 1-9999",
    "admin_only_filter": "`user_id` on GET /orders is for admins",
    "idempotency_key_reused": "the same key with another body",
    "text_unassigned": "text may not hold unassigned code points, too many for a pattern to list",
}

DOCUMENT = service_app.openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
SCHEMA.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    # The bearer token is ours to send; generating Authorization values would only fuzz "no token".
    with_security_parameters=False,
)
SCHEMA.config.phases.update(phases=["examples", "coverage", "fuzzing"])
SCHEMA.config.checks.update(included_check_names=CHECKS)
SHARED_RUN = SCHEMA.exclude(method="POST", path=SESSION_ENDING)
SESSION_RUN = SCHEMA.include(method="POST", path=SESSION_ENDING)
FUZZ_SETTINGS = settings(
    # Function-scoped fixtures are deliberate: the accounts live as long as one operation's run.
    suppress_health_check=list(HealthCheck),
    deadline=None,
    derandomize=True,
    database=None,
)


@pytest.fixture(scope="module")
def live_service(database: Any) -> Iterator[ServiceProcess]:
    env = {
        "DATABASE_URL": database.url,
        "ENVIRONMENT": "test",
        "JWT_SECRET_KEY": os.environ["JWT_SECRET_KEY"],
        "LOG_LEVEL": "WARNING",
        # The password-change cases send hundreds of wrong current passwords for one account; each counts as a
        # failed login, and the default limit would lock the account out of the login every case starts with.
        "LOGIN_MAX_FAILED_ATTEMPTS": "1000000",
    }
    with ServiceProcess(env) as server:
        yield server


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest, database: Any) -> Iterator[Counter[tuple[str, str, str]]]:
    """Cases run per (role, operation, mode); reported, and each operation must have had its share."""
    counts: Counter[tuple[str, str, str]] = Counter()
    yield counts
    if not counts:
        return
    per_role = Counter[str]()
    for (role, _, mode), n in counts.items():
        per_role[f"{role}/{mode}"] += n
    summary = ", ".join(f"{key} {n}" for key, n in sorted(per_role.items()))
    _report(request, f"contract fuzzing on {database.backend}: {sum(counts.values())} cases ({summary})")
    per_operation = Counter[tuple[str, str]]()
    for (role, label, _), n in counts.items():
        per_operation[(role, label)] += n
    starved = {key: n for key, n in per_operation.items() if n < 3}
    assert not starved, f"operations fuzzed with fewer than 3 cases: {starved}"


def _report(request: pytest.FixtureRequest, line: str) -> None:
    """A line in the test run's output even when output is captured (`-q`, CI)."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{line}")


def _fuzz(case: Any, account: Account, base_url: str, role: str, tally: Counter[tuple[str, str, str]]) -> None:
    mode = case.meta.generation.mode.value if case.meta else "explicit"
    tally[(role, f"{case.operation.method.upper()} {case.operation.path}", mode)] += 1
    response = case.call_and_validate(base_url=base_url, headers=account.headers)
    if mode == GenerationMode.POSITIVE.value:
        _refused_only_for_inexpressible_rules(case, response)


def _refused_only_for_inexpressible_rules(case: Any, response: Any) -> None:
    """A request the document calls valid may be a 422 only for a rule the document cannot state."""
    if response.status_code != 422:
        return
    for error in response.json()["errors"]:
        if error["type"] in INEXPRESSIBLE:
            continue
        loc = tuple(error["loc"])
        if error["type"] == "int_type" and isinstance(_sent_value(case, loc), float):
            continue  # JSON Schema counts 8263.0 as an integer; the service wants JSON integers, no `.0`
        if error["type"] == "value_error" and loc == ("body", "email"):
            continue  # "format: email" is looser than deliverable addresses (reserved domains, ...)
        raise AssertionError(
            f"{case.method} {case.path}: a schema-valid request was refused: {error}\n{case.as_curl_command()}"
        )


def _sent_value(case: Any, loc: tuple[Any, ...]) -> Any:
    if not loc or loc[0] != "body":
        return None
    value = case.body
    for key in loc[1:]:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def test_the_fuzzed_document_is_the_one_served(live_service: ServiceProcess) -> None:
    assert httpx.get(f"{live_service.base_url}/openapi.json").json() == DOCUMENT


@SHARED_RUN.parametrize()
@FUZZ_SETTINGS
def test_contract_as_customer(case: Any, customer: Account, live_service: ServiceProcess, tally: Any) -> None:
    _fuzz(case, customer, live_service.base_url, "customer", tally)


@SHARED_RUN.parametrize()
@FUZZ_SETTINGS
def test_contract_as_admin(case: Any, admin: Account, live_service: ServiceProcess, tally: Any) -> None:
    _fuzz(case, admin, live_service.base_url, "admin", tally)


@SESSION_RUN.parametrize()
@FUZZ_SETTINGS
def test_session_ending_operations(case: Any, customer: Account, live_service: ServiceProcess, tally: Any) -> None:
    """Each case logs in anew (the login fails, and so the test, if a fuzzed password change went through)."""
    response = httpx.post(
        f"{live_service.base_url}/auth/login", data={"username": customer.email, "password": customer.password}
    )
    assert response.status_code == 200, response.text
    fresh = Account(customer.id, customer.email, customer.password, **_tokens(response.json()))
    _fuzz(case, fresh, live_service.base_url, "customer", tally)


def _tokens(pair: dict[str, Any]) -> dict[str, str]:
    return {"access_token": pair["access_token"], "refresh_token": pair["refresh_token"]}
