"""The published API contract holds: schemathesis sends generated requests, valid and invalid, to every documented
operation and runs all its checks on the answers: no 5xx, no status or content type the document does not
list, no body that breaks its schema. Webhooks are left out: their callers sign every request, and their
documented refusals are checked in test_bad_input.py and the webhook tests.

Driven through schemathesis's own engine (what its CLI runs), not its pytest plugin: the plugin reaches into
pytest's private `Node._nodeid`, which pytest 9.2 removed, so the contract no longer depends on pytest's insides.
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from schemathesis.engine import Status, events

from everypenny import bootstrap
from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.adapters.db.engine import make_engine
from everypenny.config import Settings
from everypenny.entrypoints.web.app import create_app
from everypenny.service_layer.appeals import load_appeal
from tests.conftest import SEED_APPEAL, FakePaymentGateway

# A valid-looking donation can still be refused by rules the schema cannot state (the appeal's minimum
# amount): such answers are 422s, documented, and schemathesis is told they are expected.
CONFIG = {
    "generation": {"mode": "all", "max-examples": 10},
    "checks": {"enabled": True},
    "phases": {"stateful": {"enabled": False}},
    "operations": [{"include-path": "/api/v1/appeals/{slug}/donations",
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409", "422"]}}}],
}


@pytest.fixture(scope="module")
def contract_app(tmp_path_factory, sqlite_template):
    """SQLite alone: the contract is about HTTP, not the store."""
    path = tmp_path_factory.mktemp("contract") / "everypenny.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    platform = bootstrap.build(Settings(database_url=url, public_url="http://testserver", donation_limit_per_ip=10**6,
                                       donation_limit_per_email=10**6, receipt_checks_per_minute=10**6), engine)
    platform.payments = FakePaymentGateway()
    appeal, definition = load_appeal_file(SEED_APPEAL)
    load_appeal(platform.uow(), appeal, definition, str(SEED_APPEAL))
    yield create_app(platform)
    engine.dispose()


def broken_contracts(schema) -> tuple[list[str], int]:
    """What the engine found wrong, one line per failed check or error, and how many operations it tested."""
    problems, tested = [], set()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            tested.add(event.recorder.label)
            problems += [f"{event.recorder.label}: {check.name}: {check.failure_info.failure.title}"
                         for checks in event.recorder.checks.values() for check in checks
                         if check.status == Status.FAILURE and check.failure_info is not None]
        elif isinstance(event, events.NonFatalError):
            problems.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            problems.append(f"the run stopped: {event.exception!r}")
    return sorted(set(problems)), len(tested)


def test_every_documented_operation_keeps_its_contract(contract_app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", contract_app, config=schemathesis.Config.from_dict(CONFIG))
    schema = schema.exclude(path_regex="^/webhooks/")
    documented = len([path for path in contract_app.openapi()["paths"] if not path.startswith("/webhooks/")])

    problems, tested = broken_contracts(schema)

    assert problems == []
    assert tested >= documented  # every path at least once (several have more than one method)


def references(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [ref for value in node.values() for ref in references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in references(value)]
    return []


def test_every_reference_in_the_document_resolves(contract_app):
    from fastapi.testclient import TestClient

    document = TestClient(contract_app).get("/openapi.json").json()

    unresolved = sorted({ref for ref in references(document)
                         if ref.removeprefix("#/components/schemas/") not in document["components"]["schemas"]})
    assert unresolved == []


def test_every_route_with_a_body_documents_the_413_of_the_body_limit(contract_app):
    from fastapi.testclient import TestClient

    document = TestClient(contract_app).get("/openapi.json").json()

    with_body = [(method, path) for path, operations in document["paths"].items()
                 for method, operation in operations.items() if "requestBody" in operation]
    assert with_body and all("413" in document["paths"][path][method]["responses"] for method, path in with_body)
