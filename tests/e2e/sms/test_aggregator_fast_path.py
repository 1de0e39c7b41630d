"""The aggregator's callbacks are taken in front of FastAPI's stack (AggregatorCallbackPath): every answer, its
refusals included, is the one the documented route gives, with the same status, headers and body."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.middleware import Middleware

from everypenny.entrypoints.web.app import create_app
from everypenny.entrypoints.web.sms_webhooks import AggregatorCallbackPath, AggregatorCallbacks

FONIX = "54.194.146.155"
PROXY = "10.0.0.5"


def mo(guid: str) -> str:
    return urlencode({"GUID": guid, "MONUMBER": "447700900001", "DESTINATION": "70141", "BODY": "SUN5"})


def streamed(size: int):
    for _ in range(size // 100):
        yield b"x" * 100


# (what, peer, path after /webhooks/aggregator/ with TOKEN for the right token, body, extra headers); MSGID is
# filled in per app, so each app's first callback is new to it.
CASES = [
    ("new", FONIX, "TOKEN/mo", mo("MSGID"), {}),
    ("a repeat", FONIX, "TOKEN/mo", mo("MSGID"), {}),
    ("a charge report", FONIX, "TOKEN/charge-report", "REQUESTID=MSGID&STATUSCODE=DELIVERED", {}),
    ("a delivery report", FONIX, "TOKEN/delivery-report", "GUID=MSGID&STATUSCODE=DELIVERED", {}),
    ("a wrong token", FONIX, "wrong/mo", mo("MSGID-1"), {}),
    ("no such callback", FONIX, "TOKEN/refund", mo("MSGID-2"), {}),
    ("an address not listed", "203.0.113.9", "TOKEN/mo", mo("MSGID-3"), {}),
    ("a listed address behind a trusted proxy", PROXY, "TOKEN/mo", mo("MSGID-4"), {"X-Forwarded-For": FONIX}),
    ("an unlisted address behind a trusted proxy", PROXY, "TOKEN/mo", mo("MSGID-5"), {"X-Forwarded-For": "6.6.6.6"}),
    ("missing fields", FONIX, "TOKEN/mo", "GUID=g-1&BODY=SUN5", {}),
    ("no fields", FONIX, "TOKEN/delivery-report", "", {}),
    ("not UTF-8", FONIX, "TOKEN/charge-report", b"REQUESTID=\xff", {}),
    ("a declared body over the limit", FONIX, "TOKEN/mo", "x" * 2000, {}),
    ("a declared body over the limit, wrong token", FONIX, "wrong/mo", "x" * 2000, {}),
    ("a streamed body over the limit", FONIX, "TOKEN/mo", "streamed", {}),
    ("a length that is no number", FONIX, "TOKEN/mo", mo("MSGID-6"), {"Content-Length": "12x"}),
]


@pytest.fixture
def limited(platform):
    platform.settings.aggregator_callback_ips = f"{FONIX}, 54.194.13.0/24"
    platform.settings.trusted_proxies = PROXY
    platform.settings.max_webhook_body_bytes = 1000
    return platform


def answer(app, case: tuple, guid: str) -> tuple:
    _, peer, path, body, headers = case
    token = "TOKEN"
    path = path.replace(token, app.state.platform.settings.aggregator_callback_token)
    content = streamed(3000) if body == "streamed" else (body.replace("MSGID", guid) if isinstance(body, str) else body)
    response = TestClient(app, client=(peer, 40000)).post(
        f"/webhooks/aggregator/{path}", content=content,
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
    return response.status_code, sorted(response.headers.items()), response.text


def the_fast_path_alone(platform) -> Starlette:
    """The fast path in front of an app with no routes: anything it let through would be a plain-text 404."""
    app = Starlette(middleware=[Middleware(AggregatorCallbackPath, callbacks=AggregatorCallbacks(platform))])
    app.state.platform = platform
    return app


def the_route_alone(platform):
    app = create_app(platform)
    app.user_middleware = [entry for entry in app.user_middleware if entry.cls is not AggregatorCallbackPath]
    return app


def test_the_fast_path_answers_every_callback_exactly_as_the_documented_route(limited):
    routed, fast = the_route_alone(limited), the_fast_path_alone(limited)

    for case in CASES:
        assert answer(fast, case, "fast") == answer(routed, case, "routed"), case[0]


TOO_LARGE = "The request body is larger than this address accepts (1000 bytes)."


@pytest.mark.parametrize(("what", "status", "body"), [
    ("new", 200, "OK"), ("a repeat", 200, "OK (already received)"),
    ("a wrong token", 404, '{"detail":"Not Found"}'),
    ("an address not listed", 403, '{"detail":"callbacks are not taken from this address"}'),
    ("missing fields", 400, '{"detail":"missing MONUMBER, DESTINATION"}'),
    ("a declared body over the limit", 413, TOO_LARGE), ("a streamed body over the limit", 413, TOO_LARGE)])
def test_the_fast_path_answers_with_the_security_headers(limited, what, status, body):
    fast = the_fast_path_alone(limited)
    answer(fast, CASES[0], "sent-before")

    got_status, headers, text = answer(fast, next(case for case in CASES if case[0] == what),
                                       "sent-before" if what == "a repeat" else "first")

    assert (got_status, text) == (status, body)
    headers = dict(headers)
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_the_app_puts_the_fast_path_in_front_of_everything_and_keeps_the_route_documented(platform):
    app = create_app(platform)

    assert app.user_middleware[0].cls is AggregatorCallbackPath
    assert "/webhooks/aggregator/{token}/{kind}" in app.openapi()["paths"]


@pytest.mark.parametrize("path", ["/webhooks/aggregator/TOKEN/mo/", "/webhooks/aggregator/mo",
                                  "/webhooks/aggregator/TOKEN/"])
def test_paths_the_route_would_not_match_go_on_to_the_app(platform, path):
    path = path.replace("TOKEN", platform.settings.aggregator_callback_token)

    response = TestClient(the_fast_path_alone(platform)).post(path, content=mo("g"), follow_redirects=False)

    assert (response.status_code, response.text) == (404, "Not Found")  # the bare app's, not the fast path's
