"""The server's side of the edge: uvicorn's httptools protocol with the bounds uvicorn lacks.

uvicorn reads a request's head with no limit of size or time (httptools buffers a 100 MiB header whole, and a
connection that sends a header line now and then is held for ever) and gives a body all the time it likes;
its h11 protocol bounds the head's size (--h11-max-incomplete-event-size) but not its time, and parses at a
fraction of httptools' speed. BoundedHttpProtocol keeps uvicorn and httptools and adds, per connection:

- a request's head (request line and headers) may hold EVERYPENNY_MAX_HEADER_BYTES, plus at most one network
  read when pipelined: past that the answer is 431 and the connection closes, so no head makes the process
  hold more (the app refuses too many headers, or too many bytes of them, with 431 as well: edge.py);
- the head must be complete EVERYPENNY_HEADER_TIMEOUT_S after the connection opened or the request's first
  read: else 408 and the connection closes (one that sent nothing is closed without an answer);
- the body must be complete EVERYPENNY_BODY_TIMEOUT_S after its head, however it trickles (while the app is
  not reading, the client is not to blame and gets longer): else the connection closes, and the app sees the
  client disconnect.

`everypenny serve` and the image run it; to run the ASGI factory yourself, pass
`--http everypenny.entrypoints.web.edge_server:BoundedHttpProtocol`. docs/security.md has the figures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from starlette.datastructures import MutableHeaders
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from everypenny.config import Settings, get_settings
from everypenny.entrypoints.web.edge import PAGE_POLICY, headers_too_large, secure


@dataclass(frozen=True)
class HttpLimits:
    max_headers: int
    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpLimits:
        return cls(settings.max_headers, settings.max_header_bytes, settings.header_timeout_s,
                   settings.body_timeout_s)


class BoundedHttpProtocol(HttpToolsProtocol):
    limits: ClassVar[HttpLimits | None] = None  # read from the settings by the first connection, unless given

    @classmethod
    def with_limits(cls, limits: HttpLimits) -> type[BoundedHttpProtocol]:
        return type(cls.__name__, (cls,), {"limits": limits})

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = type(self).limits
        if limits is None:
            limits = type(self).limits = HttpLimits.from_settings(get_settings())
        self.bounds = limits
        self.reading_head = False  # a request has begun and its head is not complete
        self.reading_body = False  # its head is complete and its body is not
        self.message_ended = False  # a request ended during the read being parsed (pipelining)
        self.head_bytes = 0
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_timer = self.loop.call_later(self.bounds.header_timeout_s, self.head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self.head_timer = _cancelled(self.head_timer)
        self.body_timer = _cancelled(self.body_timer)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Timers are armed only when a read leaves a head or body unfinished, so a request that arrives in one
        read, as nearly all do, costs none."""
        head_before = self.reading_head
        self.message_ended = False
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self.reading_head:
            if head_before or not self.message_ended:  # the whole read is this head's
                self.head_bytes += len(data)
            if self.head_bytes > self.bounds.max_header_bytes:
                self.refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                            headers_too_large(self.bounds.max_headers, self.bounds.max_header_bytes))
            elif self.head_timer is None:
                self.head_timer = self.loop.call_later(self.bounds.header_timeout_s, self.head_too_slow)
        elif self.reading_body and self.body_timer is None:
            self.body_timer = self.loop.call_later(self.bounds.body_timeout_s, self.body_too_slow)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_head = True
        self.head_bytes = 0

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.reading_body = True
        self.head_timer = _cancelled(self.head_timer)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.reading_body = False
        self.message_ended = True
        self.body_timer = _cancelled(self.body_timer)
        super().on_message_complete()

    def head_too_slow(self) -> None:
        self.head_timer = None
        if self.reading_head:
            self.refuse(HTTPStatus.REQUEST_TIMEOUT, "The request's headers took too long to arrive.")
        elif not self.reading_body and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # connected and sent nothing

    def body_too_slow(self) -> None:
        self.body_timer = None
        if not self.reading_body or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the app has not read what came: the client waits on us
            self.body_timer = self.loop.call_later(self.bounds.body_timeout_s, self.body_too_slow)
            return
        self.transport.close()

    def refuse(self, status: HTTPStatus, text: str) -> None:
        """Answers `status` and closes, unless an answer to an earlier request is still being written (then it
        only closes): no route sees the request."""
        if self.cycle is None or self.cycle.response_complete:
            body = text.encode()
            headers = MutableHeaders(raw=[(b"content-type", b"text/plain; charset=utf-8"),
                                          (b"content-length", str(len(body)).encode()),
                                          (b"connection", b"close")])
            secure(headers, PAGE_POLICY)
            head = b"".join(name + b": " + value + b"\r\n" for name, value in headers.raw)
            self.transport.write(b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, status.phrase.encode(), head, body))
        self.transport.close()


def _cancelled(timer: asyncio.TimerHandle | None) -> asyncio.TimerHandle | None:
    """No timer: `timer` cancelled, if there was one."""
    if timer is not None:
        timer.cancel()
    return None
