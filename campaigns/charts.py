"""The overview's chart of calls per day, as geometry for an inline SVG the template draws.

Rendered on the server (no JavaScript library, no CDN, nothing for the CSP to allow): stacked
bars, one per day, one segment per outcome group; colours come from CSS classes, not inline
styles (the CSP has no 'unsafe-inline').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from campaigns.selectors import CHART_GROUPS

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 28  # room for the axis labels
LABELS = {
    "booked": _("Booked"),
    "answered": _("Answered"),
    "voicemail": _("Voicemail"),
    "no_answer": _("No answer or busy"),
    "failed": _("Failed"),
    "other": _("Live or unknown"),
}
SERIES = [name for name, _outcomes in CHART_GROUPS] + ["other"]


@dataclass
class Bar:
    day: Any
    label: str
    x: float
    width: float
    total: int
    segments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[dict[str, Any]]
    legend: list[dict[str, Any]]
    baseline: float
    left: int
    right: float
    total: int


def _nice_max(value: int) -> int:
    """The axis top: the smallest 1, 2 or 5 × 10ⁿ not below the highest bar (at least 4)."""
    top = max(value, 4)
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= top:
                return step * scale
        scale *= 10


def calls_chart(per_day: list[dict[str, Any]]) -> Chart:
    """Stacked bars for `selectors.calls_per_day` rows."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((row["calls"] for row in per_day), default=0))
    slot = plot_w / max(len(per_day), 1)
    bars = []
    label_every = max(1, len(per_day) // 7)  # at most ~8 date labels under the axis
    for index, row in enumerate(per_day):
        bar = Bar(
            day=row["day"],
            label=date_format(row["day"], "M j") if index % label_every == 0 else "",
            x=round(LEFT + index * slot + slot * 0.15, 2),
            width=round(slot * 0.7, 2),
            total=row["calls"],
        )
        y = TOP + plot_h
        for name in SERIES:
            count = row.get(name, 0)
            if not count:
                continue
            height = plot_h * count / top
            y -= height
            bar.segments.append(
                {"series": name, "label": LABELS[name], "count": count, "y": round(y, 2), "height": round(height, 2)}
            )
        bars.append(bar)
    ticks = [{"value": top * i // 4, "y": round(TOP + plot_h - plot_h * i / 4, 2)} for i in range(5)]
    legend = [{"series": name, "label": LABELS[name]} for name in SERIES]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        ticks=ticks,
        legend=legend,
        baseline=TOP + plot_h,
        left=LEFT,
        right=WIDTH - RIGHT,
        total=sum(row["calls"] for row in per_day),
    )
