"""Bar charts as server-side SVG: the geometry is computed here, the template
only draws the shapes. Two series each: images requested and images delivered."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .selectors import Usage, UsageRow


@dataclass
class Shape:
    x: float
    y: float
    width: float = 0
    height: float = 0
    x2: float = 0
    css: str = ""
    text: str = ""
    anchor: str = "start"


@dataclass
class Chart:
    title: str
    description: str
    width: int
    height: int
    bars: list[Shape] = field(default_factory=list)
    labels: list[Shape] = field(default_factory=list)
    grid: list[Shape] = field(default_factory=list)
    empty: bool = False


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _series(row: UsageRow) -> tuple[int, int]:
    return row.images_requested, row.images_delivered


def member_chart(usage: Usage) -> Chart:
    """One pair of horizontal bars per member: requested, and delivered beneath it."""
    rows = usage.members
    label_width, value_width, width, row_height = 140, 44, 640, 34
    plot = width - label_width - value_width
    top = 8
    height = top + max(len(rows), 1) * row_height + 8
    chart = Chart(
        title=f"Images per member, {usage.month}",
        description="For each member, images requested (upper bar) and delivered (lower bar).",
        width=width,
        height=height,
        empty=usage.team.images_requested == 0,
    )
    scale = nice_ceiling(max((max(_series(r)) for r in rows), default=0))
    for i, row in enumerate(rows):
        y = top + i * row_height
        chart.labels.append(
            Shape(
                label_width - 8, y + 17, text=row.label[:18], anchor="end", css="usage-chart__label"
            )
        )
        for j, (value, css, name) in enumerate(
            zip(_series(row), ("requested", "delivered"), ("requested", "delivered"), strict=True)
        ):
            bar_width = plot * value / scale
            chart.bars.append(
                Shape(
                    label_width,
                    y + 3 + j * 13,
                    width=max(bar_width, 1 if value else 0),
                    height=11,
                    css=f"usage-chart__bar usage-chart__bar--{css}",
                    text=f"{row.label}: {value} {name}",
                )
            )
        chart.labels.append(
            Shape(
                label_width + plot * max(_series(row)) / scale + 6,
                y + 17,
                text=f"{row.images_delivered}/{row.images_requested}",
                css="usage-chart__value",
            )
        )
    return chart


def day_chart(usage: Usage) -> Chart:
    """One column per day of the month: requested behind, delivered in front."""
    days = usage.days
    left, bottom, top, width, height = 36, 22, 10, 640, 200
    plot_width, plot_height = width - left - 8, height - top - bottom
    slot = plot_width / len(days)
    scale = nice_ceiling(max((r.images_requested for _, r in days), default=0))
    chart = Chart(
        title=f"Images per day, {usage.month}",
        description="For each day, images requested (light column) and delivered (dark column).",
        width=width,
        height=height,
        empty=usage.team.images_requested == 0,
    )
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        chart.grid.append(Shape(left, y, x2=left + plot_width, css="usage-chart__grid"))
        chart.labels.append(
            Shape(
                left - 6,
                y + 4,
                text=f"{round(scale * fraction):g}",
                anchor="end",
                css="usage-chart__axis",
            )
        )
    for i, (day, row) in enumerate(days):
        x = left + i * slot
        for value, css, inset in (
            (row.images_requested, "requested", 0.12),
            (row.images_delivered, "delivered", 0.3),
        ):
            bar_height = plot_height * value / scale
            chart.bars.append(
                Shape(
                    x + slot * inset,
                    top + plot_height - bar_height,
                    width=slot * (1 - 2 * inset),
                    height=bar_height,
                    css=f"usage-chart__bar usage-chart__bar--{css}",
                    text=f"{day:%-d %b}: {value} {css}",
                )
            )
        if day.day == 1 or day.day % 5 == 0:
            chart.labels.append(
                Shape(
                    x + slot / 2,
                    height - 6,
                    text=str(day.day),
                    anchor="middle",
                    css="usage-chart__axis",
                )
            )
    return chart


def hourly_chart(hours, *, group: str, limit_per_hour: int | None) -> Chart:
    """One column per hour of the last day: calls of `group` (and 429s in red)."""
    left, bottom, top, width, height = 40, 22, 10, 640, 180
    plot_width, plot_height = width - left - 8, height - top - bottom
    slot = plot_width / max(len(hours), 1)
    peak = max((calls for _, calls, _ in hours), default=0)
    scale = nice_ceiling(max(peak, limit_per_hour or 0))
    chart = Chart(
        title=f"{group} calls per hour, last 24 hours",
        description=f"For each hour, {group} calls sent to VideoGen; refused ones (429) in red.",
        width=width,
        height=height,
        empty=peak == 0,
    )
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        chart.grid.append(Shape(left, y, x2=left + plot_width, css="usage-chart__grid"))
        chart.labels.append(Shape(left - 6, y + 4, text=f"{round(scale * fraction):g}",
                                  anchor="end", css="usage-chart__axis"))
    if limit_per_hour:
        y = top + plot_height * (1 - limit_per_hour / scale)
        chart.grid.append(Shape(left, y, x2=left + plot_width, css="usage-chart__limit"))
    for i, (hour, calls, refused) in enumerate(hours):
        x = left + i * slot
        for value, css, inset in ((calls, "requested", 0.12), (refused, "refused", 0.3)):
            bar_height = plot_height * value / scale
            chart.bars.append(Shape(
                x + slot * inset, top + plot_height - bar_height, width=slot * (1 - 2 * inset),
                height=bar_height, css=f"usage-chart__bar usage-chart__bar--{css}",
                text=f"{hour:%H}:00: {value} {'calls' if css == 'requested' else 'refused'}",
            ))
        if hour.hour % 6 == 0:
            chart.labels.append(Shape(x + slot / 2, height - 6, text=f"{hour:%H}:00",
                                      anchor="middle", css="usage-chart__axis"))
    return chart
