"""Small SVG charts drawn on the server: no script, no external files, the same in a browser, a
printed page and the PDF report (WeasyPrint).

``bar_chart`` draws the audit report's grouped bars, ``line_chart`` the lead console's lines.
Labels, names and titles may come from users or the network: every text is escaped here, and each
chart is returned as Markup, safe to inline in a template.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#3b6ea5", "#d08c2f", "#5a9e6f", "#a05195")


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], *, width: int = 640,
              height: int = 220, label_every: int = 1) -> Markup:
    """Grouped vertical bars, one group per label and one colour per series; every text in it is escaped."""
    left, bottom, top, right = 40, 40, 28, 10
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([max(values) for values in series.values() if values] + [1])
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="16" font-size="13" font-family="sans-serif">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#555"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end" font-family="sans-serif">'
             f'{peak:g}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end" '
             'font-family="sans-serif">0</text>']
    for s_index, (name, values) in enumerate(series.items()):
        colour = PALETTE[s_index % len(PALETTE)]
        for index, value in enumerate(values):
            bar_h = plot_h * float(value) / peak
            x = left + index * group_w + group_w * 0.1 + s_index * bar_w
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
                         f'height="{bar_h:.1f}" fill="{colour}"><title>{escape(name)} {escape(labels[index])}: '
                         f'{value:g}</title></rect>')
        legend_x = left + plot_w - 120 * (len(series) - s_index)
        parts.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="15" font-size="11" font-family="sans-serif">{escape(name)}</text>')
    for index, label in enumerate(labels):
        if index % label_every == 0:
            x = left + index * group_w + group_w / 2
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" font-size="9" text-anchor="middle" '
                         f'font-family="sans-serif">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped, the rest is numbers


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend, (x, y) points with y None for gaps, and a stroke colour."""

    name: str
    points: Sequence[tuple[float, float | None]]
    colour: str


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def line_chart(series: Sequence[Series], *, title: str, width: int = 560, height: int = 260,
               x_label: str = "", y_label: str = "", marker_x: float | None = None,
               x_range: tuple[float, float] = (0.0, 1.0), y_range: tuple[float, float] = (0.0, 1.0),
               x_ticks: Sequence[tuple[float, str]] | None = None) -> Markup:
    """An accessible SVG line chart; every text in it is escaped. `x_ticks`: (x, label) pairs to mark
    instead of five evenly spaced numbers (say, clock hours)."""
    left, right, top, bottom = 48, 12, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    (x0, x1), (y0, y1) = x_range, y_range

    def sx(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1) * plot_w

    def sy(y: float) -> float:
        return top + plot_h - (y - y0) / ((y1 - y0) or 1) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}"><title>{escape(title)}</title>',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#ccc"/>']
    ticks = x_ticks if x_ticks is not None else [
        (x0 + (x1 - x0) * step / 4, f"{x0 + (x1 - x0) * step / 4:g}") for step in range(5)]
    for step in range(5):
        fy = y0 + (y1 - y0) * step / 4
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_fmt(sy(fy))}" y2="{_fmt(sy(fy))}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{_fmt(sy(fy) + 4)}" text-anchor="end" font-size="11">'
                     f'{escape(f"{fy:g}")}</text>')
    for fx, label in ticks:
        # The first and last labels are drawn inward, so that neither is cut at the chart's edge.
        anchor = "start" if fx <= x0 else "end" if fx >= x1 else "middle"
        parts.append(f'<text x="{_fmt(sx(fx))}" y="{top + plot_h + 16}" text-anchor="{anchor}" font-size="11">'
                     f'{escape(label)}</text>')
    if x_label:
        parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" font-size="12">'
                     f'{escape(x_label)}</text>')
    if y_label:
        parts.append(f'<text x="12" y="{top + plot_h / 2}" text-anchor="middle" font-size="12" '
                     f'transform="rotate(-90 12 {top + plot_h / 2})">{escape(y_label)}</text>')
    if marker_x is not None and x0 <= marker_x <= x1:
        parts.append(f'<line class="marker" x1="{_fmt(sx(marker_x))}" x2="{_fmt(sx(marker_x))}" y1="{top}" '
                     f'y2="{top + plot_h}" stroke="#555" stroke-dasharray="4 3"/>')
    for index, line in enumerate(series):
        segments: list[list[str]] = [[]]
        for x, y in line.points:
            if y is None:
                segments.append([])
            else:
                segments[-1].append(f"{_fmt(sx(x))},{_fmt(sy(y))}")
        for segment in segments:
            if segment:
                parts.append(f'<polyline fill="none" stroke="{escape(line.colour)}" stroke-width="2" '
                             f'points="{" ".join(segment)}"><title>{escape(line.name)}</title></polyline>')
        lx = left + 8 + index * 130
        parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="14" y2="14" stroke="{escape(line.colour)}" '
                     'stroke-width="3"/>')
        parts.append(f'<text x="{lx + 22}" y="18" font-size="12">{escape(line.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text and attribute above is escaped
