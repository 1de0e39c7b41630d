"""`everypenny simulate spike`: rehearse a TV appeal's burst of texts against a running deployment."""

from __future__ import annotations

from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from everypenny.config import get_settings
from everypenny.simulators.spike import SpikePlan, SpikeRecord, SpikeRun, parse_keywords, percentile
from everypenny.simulators.spike_report import chart_library_missing, summary, write_report

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


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
) -> None:
    """Replay a spike of texts through the aggregator simulator (listening at EVERYPENNY_AGGREGATOR_URL,
    which the deployment must call) and write a report with a chart."""
    settings = get_settings()
    try:
        plan = SpikePlan(peak_per_s=peak, ramp_s=ramp_s, hold_s=hold_s, keywords=parse_keywords(keywords),
                         refusing_share=refusing, duplicate_rate=duplicate_rate, jitter_s=jitter_s,
                         couriers=couriers, appeal=appeal, shortcode=shortcode)
    except ValueError as error:
        errors.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    if missing := chart_library_missing():
        errors.print(f"[bold red]error:[/] {missing}")
        raise typer.Exit(2)
    targets = app_url or [settings.public_url]
    target = ", ".join(targets)
    run = SpikeRun(plan, targets, settings.aggregator_url, settings.aggregator_api_key,
                   settings.aggregator_callback_token)
    console.print(f"Spike of {plan.total_texts:,} texts to {shortcode}: ramp {ramp_s:g} s to {peak:,.0f}/s, "
                  f"held {hold_s:g} s, against {target}")
    try:
        figures = _run_with_progress(run)
    except httpx.HTTPStatusError as error:
        errors.print(f"[bold red]error:[/] {target} answered {error.response.status_code} for "
                     f"{error.request.url.path}: is the appeal {appeal!r} loaded?")
        raise typer.Exit(1) from None
    except httpx.TransportError as error:
        errors.print(f"[bold red]error:[/] cannot reach {target} ({error}): is the deployment running?")
        raise typer.Exit(3) from None
    for line in summary(figures):
        console.print(line)
    for path in write_report(report_dir, plan, figures, run.timeline()):
        console.print(f"wrote {path}")
    if not figures.drained or not figures.totals_match:
        raise typer.Exit(1)


def _run_with_progress(run: SpikeRun):
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        offered = progress.add_task("texts acked", total=run.plan.total_texts, detail="")

        def show(record: SpikeRecord, phase: str) -> None:
            with record.lock:
                acked = len(record.acked_guids)
                p99 = percentile(list(record.latencies_ms.get(max(record.acked, default=0), [])), 0.99)
                posted = (record.posted[-1][1] - record.posted[0][1]) if record.posted else 0
            progress.update(offered, completed=acked,
                            detail=f"{phase}; p99 {p99:.0f} ms; {posted:,} donations posted")

        return run.run(show)
