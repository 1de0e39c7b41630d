"""`everypenny simulate spike`: rehearse a TV appeal's burst of texts against a running deployment."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlparse

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from everypenny.config import get_settings
from everypenny.entrypoints.cli.shared import fail
from everypenny.simulators.spike import SpikePlan, SpikeRecord, SpikeRun, parse_keywords, percentile
from everypenny.simulators.spike_report import chart_library_missing, summary, write_report

console = Console(highlight=False, soft_wrap=True)


def spike_command(
    peak: float = typer.Option(500.0, min=1, help="Texts per second at the peak."),
    ramp_s: float = typer.Option(5.0, min=0, help="Seconds to climb linearly to the peak."),
    hold_s: float = typer.Option(20.0, min=1, help="Seconds at the peak."),
    keywords: str = typer.Option("SUN3:30,SUN5:50,SUN10:20", help="What donors text, BODY:WEIGHT, comma-separated."),
    refusing: float = typer.Option(0.05, min=0, max=1, help="Share of texts from handsets whose network refuses."),
    duplicate_rate: float = typer.Option(0.0, min=0, max=1, help="Share of callbacks the aggregator sends twice."),
    jitter_s: float = typer.Option(0.0, min=0, help="Random delay per callback, which reorders them."),
    couriers: int = typer.Option(16, min=1, max=256, help="Threads posting callbacks side by side."),
    app_url: list[str] = typer.Option(None, help="The deployment (default: EVERYPENNY_PUBLIC_URL); repeat it "
                                      "to spread callbacks over several app nodes."),
    appeal: str = typer.Option("sun-ukraine-fund", help="The appeal whose totals are watched."),
    shortcode: str = typer.Option("70141", help="The shortcode texted."),
    report_dir: Path = typer.Option(Path("spike-report"), help="Where the report and chart go."),
    running_aggregator: bool = typer.Option(
        False, "--running-aggregator",
        help="Drive the aggregator simulator already listening at EVERYPENNY_AGGREGATOR_URL (the demo's) instead "
             "of starting one; its own settings then decide duplicates, jitter and couriers, and ack latency is "
             "not measured."),
) -> None:
    """Replay a spike of texts through the aggregator simulator (listening at EVERYPENNY_AGGREGATOR_URL,
    which the deployment must call) and write a report with a chart."""
    settings = get_settings()
    try:
        plan = SpikePlan(peak_per_s=peak, ramp_s=ramp_s, hold_s=hold_s, keywords=parse_keywords(keywords),
                         refusing_share=refusing, duplicate_rate=duplicate_rate, jitter_s=jitter_s,
                         couriers=couriers, appeal=appeal, shortcode=shortcode)
    except ValueError as error:
        fail(str(error), code=2)
    if missing := chart_library_missing():
        fail(missing, code=2)
    _check_aggregator_port(settings.aggregator_url, running_aggregator)
    targets = app_url or [settings.public_url]
    target = ", ".join(targets)
    run = SpikeRun(plan, targets, settings.aggregator_url, settings.aggregator_api_key,
                   settings.aggregator_callback_token, running_simulator=running_aggregator)
    console.print(f"Spike of {plan.total_texts:,} texts to {shortcode}: ramp {ramp_s:g} s to {peak:,.0f}/s, "
                  f"held {hold_s:g} s, against {target}")
    try:
        figures = _run_with_progress(run)
    except httpx.HTTPStatusError as error:
        fail(f"{target} answered {error.response.status_code} for {error.request.url.path}: "
             f"is the appeal {appeal!r} loaded?", code=1)
    except httpx.TransportError as error:
        fail(f"cannot reach {target} ({error}): is the deployment running?", code=3)
    for line in summary(figures):
        console.print(line)
    for path in write_report(report_dir, plan, figures, run.timeline(), run.markers()):
        console.print(f"wrote {path}")
    if not figures.drained or not figures.totals_match:
        raise typer.Exit(1)


def _listening(url: str) -> bool:
    where = urlparse(url)
    try:
        socket.create_connection((where.hostname or "127.0.0.1", where.port or 80), timeout=1).close()
    except OSError:
        return False
    return True


def _check_aggregator_port(url: str, running_aggregator: bool) -> None:
    """The spike's simulator must be the one the deployment calls, at EVERYPENNY_AGGREGATOR_URL: say at once
    when that place is taken (or, to drive a running one, empty) rather than failing to start there."""
    listening = _listening(url)
    if listening and not running_aggregator:
        fail(f"something already listens at {url} (EVERYPENNY_AGGREGATOR_URL), where the spike would start its "
             "aggregator simulator: if it is the demo's simulator, add --running-aggregator to drive it; "
             "otherwise stop it or point EVERYPENNY_AGGREGATOR_URL (and the deployment) at a free port", code=2)
    if not listening and running_aggregator:
        fail(f"no aggregator simulator listens at {url} (EVERYPENNY_AGGREGATOR_URL): start `everypenny demo` "
             "or `everypenny simulator aggregator` first, or leave out --running-aggregator to start one", code=2)


def _run_with_progress(run: SpikeRun):
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        offered = progress.add_task("texts acked", total=run.plan.total_texts, detail="")

        def show(record: SpikeRecord, phase: str) -> None:
            with record.lock:
                acked = record.acked_texts
                latencies = list(record.latencies_ms.get(max(record.acked, default=0), []))
                posted = (record.posted[-1][1] - record.posted[0][1]) if record.posted else 0
            latency = f"p99 {percentile(latencies, 0.99):.0f} ms; " if latencies else ""
            progress.update(offered, completed=acked, detail=f"{phase}; {latency}{posted:,} donations posted")

        return run.run(show)
