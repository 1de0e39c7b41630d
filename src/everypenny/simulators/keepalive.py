"""A lean HTTP/1.1 client for the spike's couriers: one keep-alive socket per courier thread and app node.

A rehearsal must measure the deployment, not the load generator. httpx spends about as much CPU building and
parsing a request as the app spends storing it, so on a small machine the generator, not the app, set the
ceiling. This client writes the request bytes and reads the status line, headers and body, nothing more.
Spreading requests round-robin over app nodes, as a load balancer would, is its only other job; like one
(nginx's `proxy_next_upstream error`, HAProxy's `redispatch`), it takes a request that a node refused to
connect (down, restarting) to the next node, since the request never reached the refusing one.
"""

from __future__ import annotations

import itertools
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes


class _Refused(Exception):
    """The node refused the connection: the request never reached it, so another node may take it."""


class KeepAliveClient:
    def __init__(self, urls: list[str], timeout_s: float = 30.0) -> None:
        self.targets = [(parts.hostname or "127.0.0.1", parts.port or 80) for parts in map(urlsplit, urls)]
        self.timeout_s = timeout_s
        self._next = itertools.count()
        self._local = threading.local()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> Answer:
        """Raises httpx.TransportError when no app can be reached or one hangs up, as httpx would."""
        first = next(self._next)
        for attempt in range(len(self.targets)):
            try:
                return self._post_to(self.targets[(first + attempt) % len(self.targets)], path, content, headers)
            except _Refused:
                continue
        raise httpx.ConnectError(f"every app node refused the connection for {path}")

    def _post_to(self, target: tuple[str, int], path: str, content: bytes, headers: dict[str, str]) -> Answer:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (f"POST {path} HTTP/1.1\r\nHost: {target[0]}:{target[1]}\r\nContent-Length: {len(content)}\r\n"
                   f"{head}\r\n").encode("latin-1") + content
        connections: dict[tuple[str, int], socket.socket] = self._local.__dict__.setdefault("connections", {})
        sock = connections.get(target)
        if sock is None:
            try:
                sock = connections[target] = self._connect(target)
            except ConnectionRefusedError as error:
                raise _Refused() from error
            except OSError as error:
                raise httpx.TransportError(f"{target[0]}:{target[1]}{path}: {error!r}") from error
        try:
            sock.sendall(request)
            answer, keep_alive = self._read_answer(sock)
        except OSError as error:
            self._drop(connections, target)
            raise httpx.TransportError(f"{target[0]}:{target[1]}{path}: {error!r}") from error
        if not keep_alive:
            self._drop(connections, target)
        return answer

    def _connect(self, target: tuple[str, int]) -> socket.socket:
        sock = socket.create_connection(target, timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._open.add(sock)
        return sock

    def _drop(self, connections: dict, target: tuple[str, int]) -> None:
        sock = connections.pop(target, None)
        if sock is not None:
            with self._lock:
                self._open.discard(sock)
            sock.close()

    @staticmethod
    def _read_answer(sock: socket.socket) -> tuple[Answer, bool]:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the app closed the connection before answering")
            buffer += chunk
        head, _, body = buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = {name.strip().lower(): value.strip()
                  for name, _, value in (line.partition(":") for line in header_lines)}
        if "content-length" not in fields:
            raise ConnectionError(f"an answer without Content-Length: {status_line!r}")
        length = int(fields["content-length"])
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the app closed the connection mid-answer")
            body += chunk
        keep_alive = fields.get("connection", "").lower() != "close"
        return Answer(int(status_line.split(" ", 2)[1]), body[:length]), keep_alive

    def close(self) -> None:
        with self._lock:
            for sock in self._open:
                sock.close()
            self._open.clear()
