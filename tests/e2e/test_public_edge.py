"""What anyone on the internet meets first: body limits, who counts as the client, headers, /metrics, /docs."""

from __future__ import annotations

import shutil

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from everypenny import bootstrap
from everypenny.adapters.appeal_file import load_appeal_file
from everypenny.adapters.db.engine import make_engine
from everypenny.config import Settings
from everypenny.entrypoints.web.app import create_app
from everypenny.entrypoints.web.edge import client_address
from everypenny.service_layer.appeals import load_appeal
from tests.conftest import SEED_APPEAL


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    """These checks are about HTTP, not the store: SQLite alone is enough."""
    path = tmp_path / "everypenny.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def seeded(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    appeal, definition = load_appeal_file(SEED_APPEAL)
    load_appeal(bootstrap.build(Settings(database_url=sqlite_url), engine).uow(), appeal, definition, "seed")
    engine.dispose()


@pytest.fixture
def edge_app(sqlite_url):
    engines = []

    def build(peer: str = "203.0.113.9", **settings) -> TestClient:
        engine = make_engine(sqlite_url)
        engines.append(engine)
        app = create_app(bootstrap.build(Settings(database_url=sqlite_url, public_url="http://testserver",
                                                  **settings), engine))

        @app.get("/test/client-address")
        def who(request: Request) -> dict:
            return {"client": client_address(request)}

        return TestClient(app, client=(peer, 50000))

    yield build
    for engine in engines:
        engine.dispose()


# --- body size ------------------------------------------------------------------------------------------------


def test_a_declared_body_over_the_limit_is_refused_with_413_before_the_webhook_reads_it(edge_app):
    client = edge_app(max_webhook_body_bytes=1000)

    response = client.post("/webhooks/stripe", content=b"{" + b" " * 2000 + b"}",
                           headers={"stripe-signature": "t=1,v1=00"})

    assert response.status_code == 413
    assert "1000 bytes" in response.text


def test_a_streamed_body_without_content_length_is_cut_off_at_the_limit(edge_app):
    client = edge_app(max_body_bytes=1000)

    def chunks():
        for _ in range(50):
            yield b"amount=500&" * 10

    response = client.post("/api/v1/appeals/sun-ukraine-fund/donations", content=chunks(),
                           headers={"content-type": "application/json"})

    assert response.status_code == 413


def test_forms_have_a_smaller_limit_than_webhooks(edge_app):
    client = edge_app(max_body_bytes=1000, max_webhook_body_bytes=100_000)
    body = b"x" * 5000

    assert client.post("/admin/login", content=body,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 413
    assert client.post("/webhooks/stripe", content=body).status_code == 400  # read, and refused as unsigned


# --- the client's address --------------------------------------------------------------------------------------


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored_even_from_loopback(edge_app):
    client = edge_app(peer="127.0.0.1")

    answer = client.get("/test/client-address", headers={"X-Forwarded-For": "198.51.100.7"})

    assert answer.json() == {"client": "127.0.0.1"}


def test_behind_trusted_proxies_the_client_is_the_first_untrusted_hop_from_the_right(edge_app):
    client = edge_app(peer="10.0.0.5", trusted_proxies="10.0.0.0/8, 192.0.2.1")

    answer = client.get("/test/client-address",
                        headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 192.0.2.1, 10.1.2.3"})

    assert answer.json() == {"client": "198.51.100.7"}  # 6.6.6.6 is what the client claimed: not believed


def test_per_client_limits_count_the_forwarded_client_not_the_proxy(edge_app, seeded):
    client = edge_app(peer="10.0.0.5", trusted_proxies="10.0.0.5", receipt_checks_per_minute=1)

    def check(forwarded_for: str) -> int:
        return client.post("/transparency/sun-ukraine-fund/check", data={"reference": "EP-X"},
                           headers={"X-Forwarded-For": forwarded_for}).status_code

    assert check("198.51.100.1") == 200
    assert check("198.51.100.1") == 429
    assert check("198.51.100.2") == 200  # another client behind the same proxy has its own allowance


def test_guessed_donor_links_count_the_forwarded_client_not_the_proxy(edge_app, seeded):
    client = edge_app(peer="10.0.0.5", trusted_proxies="10.0.0.5", link_probes_per_ip=1)

    def probe(forwarded_for: str) -> int:
        return client.get("/gift-aid/guess", headers={"X-Forwarded-For": forwarded_for}).status_code

    assert probe("198.51.100.1") == 404
    assert probe("198.51.100.1") == 429
    assert probe("198.51.100.2") == 404  # another client behind the same proxy has its own allowance


# --- headers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/donate/no-such-appeal", "/healthz", "/transparency/no-such-appeal",
                                  "/admin/login", "/openapi.json"])
def test_every_page_forbids_framing_and_sniffing(edge_app, path):
    headers = edge_app().get(path).headers

    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] in ("same-origin", "no-referrer")


def test_even_a_refused_body_carries_the_headers(edge_app):
    headers = edge_app(max_body_bytes=10).post("/admin/login", content=b"x" * 100).headers

    assert headers["x-content-type-options"] == "nosniff"


def test_the_widget_stays_frameable_by_the_media_partners_origins(edge_app, seeded):
    client = edge_app(totaliser_origins="https://news.example")

    headers = client.get("/widget/sun-ukraine-fund").headers

    assert "frame-ancestors https://news.example" in headers["content-security-policy"]
    assert "x-frame-options" not in headers
    assert headers["x-content-type-options"] == "nosniff"


# --- /metrics and /docs ----------------------------------------------------------------------------------------


def test_metrics_need_the_bearer_token_once_one_is_set(edge_app):
    client = edge_app(metrics_token="m" * 40)

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer é".encode()}).status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 40})
    assert answer.status_code == 200 and "everypenny_texts_acked_total" in answer.text


def test_api_docs_are_off_unless_asked_for_and_then_may_load_swagger_from_its_cdn(edge_app):
    assert edge_app().get("/docs").status_code == 404
    assert edge_app().get("/redoc").status_code == 404

    docs = edge_app(api_docs=True).get("/docs")
    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
