"""Serving an ASGI app from a background thread: simulators beside the demo, live servers in tests."""

from __future__ import annotations

import threading
import time

import uvicorn


class ThreadedServer:
    """`with ThreadedServer(app, port=0) as url:` serves until the block ends; port 0 picks a free one."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 10) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="threaded-server", daemon=True)
        self.host = host
        self.start_timeout_s = start_timeout_s

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server did not start on {self.host} (is the port free?)")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
