"""The server as outsiders meet it, over real sockets: oversized and slow requests are cut off by the bounded
HTTP protocol `serve` and the image run (edge_server.py), and the access log keeps no secret from a URL."""

from __future__ import annotations

import logging
import shutil
import socket
import threading
import time

import pytest
import uvicorn

from everypenny import bootstrap
from everypenny.config import Settings
from everypenny.entrypoints.web.app import create_app
from everypenny.entrypoints.web.edge_server import BoundedHttpProtocol, HttpLimits

WAIT_S = 10.0  # how long a test waits for the server to act; the limits below are far shorter


@pytest.fixture
def server(sqlite_template, tmp_path):
    """A running server on a loopback port, as `everypenny serve` runs it, with short read limits."""
    shutil.copy(sqlite_template, tmp_path / "everypenny.db")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'everypenny.db'}", header_timeout_s=0.5,
                        body_timeout_s=0.5)
    platform = bootstrap.build(settings)
    config = uvicorn.Config(create_app(platform), host="127.0.0.1", port=0, proxy_headers=False, log_level="info",
                            http=BoundedHttpProtocol.with_limits(HttpLimits.from_settings(settings)))
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.01)
    running.port = running.servers[0].sockets[0].getsockname()[1]
    running.platform = platform
    yield running
    running.should_exit = True
    thread.join(WAIT_S)
    platform.engine.dispose()


def connect(server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)
    return connection


def answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


TOO_LARGE = b"The request's headers are more than this server accepts (at most 100 headers, 32768 bytes)."


def test_a_head_growing_past_the_limit_is_a_431_before_it_ends_and_the_connection_closes(server):
    """The server stops reading there: however large the header was to be, it holds no more of it."""
    with connect(server) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000)
        received = answer(connection)

    assert received.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert received.endswith(TOO_LARGE)
    assert b"x-content-type-options: nosniff" in received


def test_a_complete_head_over_the_limit_is_a_431_from_the_app(server):
    with connect(server) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 100 + b"\r\n")
        received = answer(connection)

    assert received.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert received.endswith(TOO_LARGE)


def test_a_head_that_trickles_in_is_a_408_and_the_connection_closes(server):
    with connect(server) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for _ in range(2):  # one line every 0.2 s, then silence: the head is not complete after 0.5 s
            time.sleep(0.2)
            connection.sendall(b"X-Slow: 1\r\n")
        received = answer(connection)

    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert received.endswith(b"The request's headers took too long to arrive.")


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server):
    with connect(server) as connection:
        assert answer(connection) == b""


def test_a_body_that_trickles_in_closes_the_connection_and_nothing_is_stored(server):
    with connect(server) as connection:
        connection.sendall(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000\r\n\r\n{")
        for _ in range(3):
            time.sleep(0.3)
            try:
                connection.sendall(b" ")
            except OSError:
                break
        received = answer(connection)

    assert received == b""  # the app was still waiting for the body: no answer, no event
    with server.platform.uow() as uow:
        assert uow.outbox.depth() == 0


def test_requests_within_the_limits_are_served_on_one_connection(server):
    with connect(server) as connection:
        for _ in range(2):
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.1)  # a pause shorter than the limit
            connection.sendall(b"X-Big: " + b"a" * 30_000 + b"\r\n\r\n")
            assert connection.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        connection.sendall(b"POST /api/v1/appeals/none/donations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                           b"Content-Type: application/json\r\nConnection: close\r\n\r\n{")
        time.sleep(0.1)
        connection.sendall(b"}")
        assert answer(connection).startswith(b"HTTP/1.1 422 Unprocessable Entity\r\n")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_access_log_masks_callback_tokens_and_donors_link_keys(server):
    token = server.platform.settings.aggregator_callback_token
    access_log = Lines()
    logging.getLogger("uvicorn.access").addHandler(access_log)
    try:
        for request in (f"POST /webhooks/aggregator/{token}/mo HTTP/1.1\r\nContent-Length: 0\r\n",
                        "GET /donate/sun/thank-you/EP-ABC?key=donor-receipt-key HTTP/1.1\r\n",
                        "GET /gift-aid/gift-aid-link-token HTTP/1.1\r\n",
                        "GET /donate/sun?amount_pence=500&from=text-to-link-token HTTP/1.1\r\n"):
            with connect(server) as connection:
                connection.sendall(request.encode() + b"Host: x\r\nConnection: close\r\n\r\n")
                answer(connection)
    finally:
        logging.getLogger("uvicorn.access").removeHandler(access_log)

    logged = "\n".join(access_log.lines)
    assert "/webhooks/aggregator/***/mo" in logged and "?key=***" in logged
    assert "/gift-aid/***" in logged and "amount_pence=500&from=***" in logged
    for secret in (token, "donor-receipt-key", "gift-aid-link-token", "text-to-link-token"):
        assert secret not in logged
