"""A deployment on this machine, as separate processes: app processes (uvicorn) and outbox workers sharing
one database. The spike benchmark and the fault tests run against it, and kill its processes at will; the
spike benchmark's `--baseline` runs one from an earlier revision's checkout beside one from this tree.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
SEED_APPEAL = Path("appeals") / "sun-ukraine-fund.toml"
BOUNDED_HTTP = "everypenny.entrypoints.web.edge_server:BoundedHttpProtocol"  # the image's --http
BOUNDED_HTTP_MODULE = Path("src") / "everypenny" / "entrypoints" / "web" / "edge_server.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalDeployment:
    """`app_processes` uvicorn processes, each with its own port (the load generator spreads callbacks over
    them as a load balancer would) and `workers` outbox workers, all on `database_url`, running the code (and
    loading the seed appeal) of the checkout at `source`: this tree unless a benchmark compares a revision."""

    database_url: str
    app_processes: int = 2
    workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    # Workers yield the CPU to app processes: on one machine this stands in for a deployment that runs them on
    # their own machines, where queued work never slows the acknowledgement of a donor's text.
    worker_niceness: int = 10
    source: Path = ROOT

    def __post_init__(self) -> None:
        self.app_ports = [free_port() for _ in range(self.app_processes)]
        self.aggregator_url = f"http://127.0.0.1:{free_port()}"
        self.apps: list[subprocess.Popen | None] = [None] * self.app_processes
        self.outbox_workers: list[subprocess.Popen | None] = [None] * self.workers

    @property
    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.app_ports]

    @property
    def app_pids(self) -> list[int]:
        return [process.pid for process in self.apps if process is not None]

    @property
    def worker_pids(self) -> list[int]:
        return [process.pid for process in self.outbox_workers if process is not None]

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.source / "src"), "EVERYPENNY_DATABASE_URL": self.database_url,
                "EVERYPENNY_AGGREGATOR_URL": self.aggregator_url, "EVERYPENNY_PUBLIC_URL": self.app_urls[0],
                "EVERYPENNY_LOG_LEVEL": "WARNING", **self.extra_env}

    def _cli(self, *arguments: str) -> None:
        subprocess.run([sys.executable, "-m", "everypenny", *arguments], env=self.env(), check=True,
                       capture_output=True, cwd=self.source)

    def prepare(self) -> None:
        """Migrates the database and loads the canonical appeal."""
        self._cli("db", "upgrade")
        self._cli("appeal", "load", str(self.source / SEED_APPEAL))

    def _output(self, name: str):
        if self.log_dir is None:
            return subprocess.DEVNULL
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return (self.log_dir / f"{name}.log").open("ab")

    def start_app(self, index: int) -> None:
        # As the image runs an app node (Dockerfile): edge.client_address reads X-Forwarded-For itself, so
        # uvicorn's proxy headers middleware is off; uvloop and the bounded httptools protocol named, so no run
        # falls back to the pure-Python loop or parser unnoticed (a revision from before the bounded protocol runs
        # uvicorn's own httptools one, as its image did).
        http = BOUNDED_HTTP if (self.source / BOUNDED_HTTP_MODULE).exists() else "httptools"
        command = [sys.executable, "-m", "uvicorn", "--factory", "everypenny.entrypoints.web.asgi:app",
                   "--host", "127.0.0.1", "--port", str(self.app_ports[index]), "--log-level", "warning",
                   "--no-access-log", "--no-proxy-headers", "--loop", "uvloop", "--http", http]
        self.apps[index] = subprocess.Popen(command, env=self.env(), cwd=self.source,
                                            stdout=self._output(f"app{index}"), stderr=subprocess.STDOUT)

    def start_worker(self, index: int) -> None:
        self.outbox_workers[index] = subprocess.Popen(
            [sys.executable, "-m", "everypenny", "worker"], env=self.env(), cwd=self.source,
            stdout=self._output(f"worker{index}"), stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.nice(self.worker_niceness))

    def start(self) -> None:
        for index in range(self.app_processes):
            self.start_app(index)
        for index in range(self.workers):
            self.start_worker(index)
        for url in self.app_urls:
            self.wait_until_serving(url)

    @staticmethod
    def wait_until_serving(url: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the app at {url} did not start within {timeout_s:.0f} s")

    def kill(self, kind: str, index: int) -> None:
        """kill -9: no chance to finish a request, commit or release a lease."""
        processes = self.apps if kind == "app" else self.outbox_workers
        process = processes[index]
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def restart(self, kind: str, index: int) -> None:
        self.kill(kind, index)
        (self.start_app if kind == "app" else self.start_worker)(index)

    def stop(self) -> None:
        for process in [*self.apps, *self.outbox_workers]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.apps, *self.outbox_workers]:
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def __enter__(self) -> LocalDeployment:
        self.prepare()
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
