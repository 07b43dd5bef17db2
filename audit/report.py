"""The app-store reviewer report (Apple 1.2, Google Play UGC) as HTML and PDF (WeasyPrint)."""
from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from audit import charts
from audit.figures import Figures, compute, rule_title

# The report's own template ships inside this package: the report is rendered the same way by the
# web console, the CLI and a script, none of which need the web app's template folder.
_env = Environment(loader=PackageLoader("audit", "templates"), autoescape=select_autoescape(("html",)))


def _fmt_hours(value: float | None) -> str:
    return "n/a" if value is None else (f"{value * 60:.0f} min" if value < 1 else f"{value:.1f} h")


def _fmt_share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


_env.filters.update(hours=_fmt_hours, share=_fmt_share, rule=rule_title)


def _charts(figures: Figures) -> dict[str, Markup]:
    """The report's charts; the SVG is built here from numbers only, so it is safe to inline."""
    days = [d["day"][5:] for d in figures.daily]
    every = max(1, len(days) // 15)
    # ruff S704 below: the charts hold numbers and escaped labels only.
    return {
        "daily": Markup(charts.bar_chart("Reports received and decisions per day", days, {  # noqa: S704
            "reports": [d["reports"] for d in figures.daily],
            "decisions": [d["decisions"] for d in figures.daily]}, label_every=every)),
        "buckets": Markup(charts.bar_chart("Reports by time from report to decision",  # noqa: S704
                                           list(figures.action_buckets),
                                           {"reports": list(figures.action_buckets.values())})),
    }


def render_html(session: Session, start: datetime, end: datetime, *, scorer: str = "sklearn",
                pseudonym_key: str = "jury", network: str = "the network") -> str:
    """The report as a standalone HTML page (inline CSS, inline SVG, no script)."""
    figures = compute(session, start, end, scorer=scorer, pseudonym_key=pseudonym_key)
    return _env.get_template("appstore.html").render(f=figures, charts=_charts(figures), network=network)


def render_pdf(session: Session, start: datetime, end: datetime, **options) -> bytes:
    """The same report as PDF."""
    from weasyprint import HTML

    return HTML(string=render_html(session, start, end, **options)).write_pdf()
