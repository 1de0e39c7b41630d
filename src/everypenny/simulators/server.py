"""Runs an ASGI app under uvicorn in a background thread: simulators beside the app, and test servers."""

from __future__ import annotations

import threading
import time

import uvicorn


class BackgroundServer:
    """`with BackgroundServer(app) as url:` serves on a free loopback port (port 0) until the block ends."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, name: str = "server") -> None:
        # Plain HTTP only: no websocket protocol is loaded (older uvicorn loads websockets' deprecated legacy API).
        # No proxy headers and no access log: only local processes call it, and a spike calls it thousands of
        # times a second.
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", ws="none",
                                                    proxy_headers=False, access_log=False))
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"{self.thread.name} did not start")
            time.sleep(0.02)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc_info) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
