"""Small server-side SVG bar charts: no script, no external files, identical in a browser and in the PDF."""
from __future__ import annotations

from html import escape

PALETTE = ("#3b6ea5", "#d08c2f", "#5a9e6f", "#a05195")


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], *, width: int = 640,
              height: int = 220, label_every: int = 1) -> str:
    """Grouped vertical bars, one group per label and one colour per series, as an SVG string."""
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
    return "".join(parts)
