"""Charts for the desk, drawn server-side as SVG by pygal (served as images, so pygal's script never runs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pygal
from pygal.style import Style

from everypenny.domain.broadcast import BroadcastMarker
from everypenny.service_layer.desk import ActivitySeries

_STYLE = Style(background="white", plot_background="white", foreground="#333", foreground_strong="#111",
               foreground_subtle="#ddd", colors=("#c8102e", "#1d70b8"), font_family="system-ui, sans-serif",
               label_font_size=11, major_label_font_size=11, title_font_size=14)


def _label(series: ActivitySeries, index: int) -> str:
    start = series.buckets[index].start
    return f"{start:%d %b}" if series.bucket_seconds >= 86400 else f"{start:%d %b %H:%M}"


def _bucket_name(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds < 3600 else f"{seconds // 3600} h"


def _on_air(series: ActivitySeries, markers: Sequence[BroadcastMarker]) -> list[dict[str, object] | None]:
    """A bar as tall as the busiest bucket wherever a marker falls, labelled with what went on air."""
    height = max(series.per_minute, default=0) or 1
    width = timedelta(seconds=series.bucket_seconds)
    bars: list[dict[str, object] | None] = []
    for bucket in series.buckets:
        shown = [marker.label for marker in markers if bucket.start <= marker.at < bucket.start + width]
        bars.append({"value": round(height, 2), "label": ", ".join(shown)} if shown else None)
    return bars


def activity_svg(series: ActivitySeries | None, markers: Sequence[BroadcastMarker] = ()) -> bytes:
    chart = pygal.Bar(
        style=_STYLE, js=[], width=900, height=300, show_legend=False, margin=10, spacing=2,
        x_label_rotation=30, show_minor_x_labels=False, print_values=False,
        y_title="donations per minute", no_data_text="No donations yet", include_x_axis=True,
        title=None if series is None else f"Donations per minute ({_bucket_name(series.bucket_seconds)} buckets)")
    if series is not None:
        # Thinning labels needs labels: pygal fails on an empty chart given a major label count.
        chart.x_labels_major_count = 12
        chart.x_labels = [_label(series, i) for i in range(len(series.buckets))]
        chart.add("received", [round(rate, 2) for rate in series.per_minute])
        if markers:
            chart.show_legend = True
            chart.add("on air", _on_air(series, markers))
    return chart.render()
