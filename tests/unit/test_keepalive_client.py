"""The spike's load balancer: a node that refuses connections (down, restarting) gets none of the requests."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from everypenny.simulators.deployment import free_port
from everypenny.simulators.keepalive import KeepAliveClient
from everypenny.simulators.server import BackgroundServer


async def _ok(request):
    return PlainTextResponse("OK")


def test_a_node_that_refuses_connections_passes_its_requests_to_the_next():
    with BackgroundServer(Starlette(routes=[Route("/callback", _ok, methods=["POST"])])) as serving:
        client = KeepAliveClient([f"http://127.0.0.1:{free_port()}", serving])  # the first: nobody listens
        try:
            answers = [client.post("/callback", content=b"x", headers={}) for _ in range(6)]
        finally:
            client.close()

    assert [(answer.status_code, answer.body) for answer in answers] == [(200, b"OK")] * 6


def test_when_every_node_refuses_the_request_fails_as_a_connection_error():
    client = KeepAliveClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"])

    with pytest.raises(httpx.ConnectError, match="every app node refused"):
        client.post("/callback", content=b"x", headers={})
