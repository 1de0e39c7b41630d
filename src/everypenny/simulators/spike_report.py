"""The spike's report: its figures as JSON and text, and a chart of offered vs acked rate and ack latency.

matplotlib comes with the `spike` extra (pip install 'everypenny[spike]'): app nodes never draw charts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from everypenny.domain.money import format_pence
from everypenny.simulators.spike import SpikeFigures, SpikePlan

TARGETS = "targets: ≥ 2,000 texts/s acked, ≥ 1,000 donations/s posted, p99 ack < 100 ms at 1,000/s offered"


def summary(figures: SpikeFigures, ack_only: bool = False) -> list[str]:
    """The figures as a finance or digital team reads them."""
    acks = [
        f"texts offered   {figures.texts_offered:,} at {figures.offered_per_s:,.0f}/s",
        f"texts acked     {figures.texts_acked:,} at {figures.acked_per_s:,.0f}/s",
        f"ack latency     p50 {figures.ack_p50_ms:.1f} ms, p99 {figures.ack_p99_ms:.1f} ms "
        f"(at peak: p99 {figures.peak_ack_p99_ms:.1f} ms)" if figures.latency_measured else
        "ack latency     not measured: the running simulator's callbacks are timed only inside its own process",
    ]
    if ack_only:
        return [*acks, "posted          not measured: acknowledgements only, no workers ran"]
    money = "match" if figures.totals_match else "DO NOT MATCH"
    return [
        *acks,
        f"posted          {figures.donations_posted:,} donations at {figures.donations_posted_per_s:,.0f}/s "
        "end to end" + (f" ({figures.seconds_to_drain:.1f} s until all were on the books)" if figures.drained else ""),
        f"raised          {format_pence(figures.raised_pence, 'GBP')} on the books, "
        f"{format_pence(figures.simulator_charged_pence, 'GBP')} charged by the networks: {money}",
        *([f"undeliverable   {figures.undeliverable_callbacks} callbacks the app never took"]
          if figures.undeliverable_callbacks else []),
        *([] if figures.drained else ["NOT DRAINED: some charges were not on the books when the run gave up"]),
    ]


def write_report(directory: Path, plan: SpikePlan, figures: SpikeFigures, timeline: list[dict],
                 markers: Sequence[tuple[float, str]] = ()) -> list[Path]:
    """`markers`: the appeal's broadcast markers as (seconds into the spike, label), drawn on the chart."""
    directory.mkdir(parents=True, exist_ok=True)
    report = directory / "spike-report.json"
    report.write_text(json.dumps({"plan": {**plan.__dict__, "keywords": dict(plan.keywords)},
                                  "figures": figures.as_dict(), "timeline": timeline,
                                  "markers": [{"second": second, "label": label} for second, label in markers]},
                                 indent=2))
    text = directory / "spike-report.txt"
    text.write_text("\n".join([*summary(figures, plan.ack_only), TARGETS]) + "\n")
    return [report, text, chart(directory / "spike-chart.png", timeline, markers)]


def chart_library_missing() -> str | None:
    """Why the chart cannot be drawn here, asked before a long run rather than found out at its end."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "the chart needs matplotlib: pip install 'everypenny[spike]'"
    return None


def chart(path: Path, timeline: list[dict], markers: Sequence[tuple[float, str]] = ()) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    seconds = [row["second"] for row in timeline]
    figure, (rates, latency) = pyplot.subplots(2, 1, sharex=True, figsize=(10, 7))
    rates.plot(seconds, [row["offered"] for row in timeline], label="texts offered/s")
    rates.plot(seconds, [row["acked"] for row in timeline], label="texts acked/s")
    rates.plot(seconds, [row["posted"] for row in timeline], label="donations posted/s")
    rates.set_ylabel("per second")
    rates.legend()
    rates.set_title("Spike: offered vs acked texts, and donations on the books")
    latency.plot(seconds, [row["p50_ms"] for row in timeline], label="ack p50")
    latency.plot(seconds, [row["p99_ms"] for row in timeline], label="ack p99")
    latency.set_ylabel("ms")
    latency.set_xlabel("seconds into the spike")
    latency.legend()
    last = seconds[-1] if seconds else 0
    for second, label in markers:
        if 0 <= second <= last:
            for axes in (rates, latency):
                axes.axvline(second, color="#1d70b8", linestyle="--", linewidth=1)
            rates.annotate(label, (second, 1), xycoords=("data", "axes fraction"), rotation=90, va="top",
                           ha="right", fontsize=8, color="#1d70b8")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
