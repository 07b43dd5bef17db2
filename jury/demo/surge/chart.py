"""The surge's chart: the backlog and the violent posts still up over time, both runs on it (SVG,
drawn with audit.charts, no new dependency)."""
from __future__ import annotations

from markupsafe import escape

from audit.charts import PALETTE, Series, line_chart

WIDTH, HEIGHT = 720, 260


def surge_chart(runs: dict[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]],
                horizon_hours: float, caption: str) -> str:
    """One SVG document: open cases above, violent posts still visible below; one line per run."""
    ticks = [(float(hour), f"{hour} h") for hour in range(0, int(horizon_hours) + 1, 12)]
    panels = []
    for row, (title, y_label) in enumerate((("Backlog: open cases", "open cases"),
                                            ("Violent posts still visible on the network", "posts up"))):
        lines = [Series(name, points[row], PALETTE[index % len(PALETTE)])
                 for index, (name, points) in enumerate(runs.items())]
        peak = max([y for line in lines for _, y in line.points if y is not None] + [1.0])
        panels.append(line_chart(lines, title=title, width=WIDTH, height=HEIGHT, x_label="simulated hours",
                                 y_label=y_label, x_range=(0.0, horizon_hours), y_range=(0.0, peak * 1.05),
                                 x_ticks=ticks, marker_x=24.0))
    height = 2 * HEIGHT + 30
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">'
            f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>'
            f'<text x="8" y="18" font-size="13">{escape(caption)}</text>'
            f'<g transform="translate(0,26)">{panels[0]}</g>'
            f'<g transform="translate(0,{26 + HEIGHT})">{panels[1]}</g></svg>\n')
