"""The surge's chart: the backlog and the violent posts still up over time, both runs on it (SVG,
drawn with audit.charts, no new dependency)."""
from __future__ import annotations

import math

from markupsafe import escape

from audit.charts import PALETTE, Series, line_chart

WIDTH, HEIGHT = 720, 260


def surge_chart(runs: dict[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]],
                horizon_hours: float, caption: str) -> str:
    """One SVG document: open cases above, violent posts still visible below; one line per run."""
    ticks = [(float(hour), f"{hour} h") for hour in range(0, int(horizon_hours) + 1, 12)]
    parts, top = [], 26
    for row, title in enumerate(("The backlog: open cases (queued, in review, escalated)",
                                 "Violent posts still visible on the network")):
        lines = [Series(name, points[row], PALETTE[index % len(PALETTE)])
                 for index, (name, points) in enumerate(runs.items())]
        peak = max([y for line in lines for _, y in line.points if y is not None] + [1.0])
        panel = line_chart(lines, title=title, width=WIDTH, height=HEIGHT, x_label="simulated hours",
                           x_range=(0.0, horizon_hours), y_range=(0.0, _nice(peak)), x_ticks=ticks, marker_x=24.0)
        parts.append(f'<text x="48" y="{top + 16}" font-size="13" font-weight="bold">{escape(title)}</text>'
                     f'<g transform="translate(0,{top + 20})">{panel}</g>')
        top += HEIGHT + 26
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{top}" '
            f'viewBox="0 0 {WIDTH} {top}" font-family="sans-serif">'
            f'<rect width="{WIDTH}" height="{top}" fill="#fff"/>'
            f'<text x="8" y="18" font-size="13">{escape(caption)}</text>{"".join(parts)}</svg>\n')


def _nice(peak: float) -> float:
    """The smallest round scale at or above `peak` whose quarters are round too (1.2 gives 0.3, 0.6, 0.9...)."""
    power = 10 ** math.floor(math.log10(peak))
    return next(step * power for step in (1, 1.2, 1.6, 2, 3, 4, 5, 6, 8, 10) if step * power >= peak)
