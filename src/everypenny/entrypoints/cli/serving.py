"""`everypenny serve|worker|demo`: run the platform: the web app, outbox workers, or the whole demo."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import typer
from prometheus_client import start_http_server

from everypenny import instruments
from everypenny.adapters.db.engine import upgrade
from everypenny.config import get_settings
from everypenny.entrypoints.cli.appeals import load_appeal_files
from everypenny.entrypoints.cli.shared import console, fail, opened_platform
from everypenny.entrypoints.cli.simulators import running_simulator, stripe_simulator
from everypenny.production import UnsafeSettings, require_production_secrets
from everypenny.simulators.stripe import WebhookOptions


def _serve(host: str, port: int) -> None:
    import uvicorn

    from everypenny.entrypoints.web.app import create_app
    from everypenny.entrypoints.web.edge_server import BoundedHttpProtocol, HttpLimits

    with opened_platform() as platform:
        stop = threading.Event()
        worker = threading.Thread(target=platform.worker().run_until, args=(stop,), name="outbox", daemon=True)
        worker.start()
        try:
            # Uvicorn believes X-Forwarded-For from loopback by default; edge.client_address alone reads it,
            # from EVERYPENNY_TRUSTED_PROXIES only. Its HTTP protocol bounds headers and slow reads (edge_server).
            uvicorn.run(create_app(platform), host=host, port=port, log_level="info", proxy_headers=False,
                        http=BoundedHttpProtocol.with_limits(HttpLimits.from_settings(platform.settings)))
        finally:
            stop.set()
            worker.join(timeout=10)


def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Serve the web app and API, with an outbox worker in the same process."""
    _require_production_secrets(bind_host=host)
    _serve(host, port)


def _require_production_secrets(bind_host: str | None = None) -> None:
    """Exit code 2 when other machines could reach this process (its public URL, or the address it serves on)
    and it runs on development or weak secrets."""
    try:
        require_production_secrets(get_settings(), bind_host)
    except UnsafeSettings as error:
        fail(str(error), code=2)


def worker() -> None:
    """Run an outbox worker on its own (run several beside the web app to scale out)."""
    _require_production_secrets()
    stop = threading.Event()
    with opened_platform() as platform:
        serve_worker_metrics(platform.settings.worker_metrics_port)
        try:
            settings = platform.settings
            platform.worker(threads=settings.worker_threads, batch_size=settings.worker_batch_size,
                            lease=timedelta(seconds=settings.worker_lease_s)).run_until(stop)
        except KeyboardInterrupt:
            stop.set()


def serve_worker_metrics(port: int) -> None:
    """The worker's own instruments (batch durations, tasks done and failed) at http://…:port/metrics, for
    Prometheus: a worker in a container of its own shares no PROMETHEUS_MULTIPROC_DIR with an app node.
    0: not served."""
    if port:
        start_http_server(port, registry=instruments.REGISTRY)


def demo(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    appeals_dir: Path = typer.Option(Path("appeals"), help="Folder of appeal TOML files to load."),
    stripe_port: int = typer.Option(12111, help="Port of the Stripe simulator started beside the app."),
) -> None:
    """Migrate the database, load the demo appeals and serve everything on this machine."""
    appeal_files = sorted(appeals_dir.glob("*.toml"))
    if not appeal_files:  # a demo with no appeal takes no texts and shows no totals: say so, start nothing
        fail(f"no appeal files (*.toml) in {appeals_dir.resolve()}: run the demo from the everypenny checkout, "
             "or point --appeals-dir at a folder of appeal files", code=2)
    os.environ.setdefault("EVERYPENNY_PUBLIC_URL", f"http://{host}:{port}")  # where donors return from checkout
    _require_production_secrets(bind_host=host)  # on loopback, as by default, the development secrets serve
    upgrade(get_settings().database_url)
    load_appeal_files(appeal_files)
    os.environ.setdefault("EVERYPENNY_API_DOCS", "true")
    console.print(f"everypenny demo on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    with (stripe_simulator(host, stripe_port, WebhookOptions(url=f"http://{host}:{port}/webhooks/stripe")),
          running_simulator(get_settings(), app_url=f"http://{host}:{port}") as aggregator_url):
        console.print(f"aggregator simulator on {aggregator_url}: try `everypenny simulate text 07700900001 SUN£5`")
        _serve(host, port)
