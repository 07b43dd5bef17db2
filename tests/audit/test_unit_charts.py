"""The server-side SVG charts (audit.charts): escaped text, gaps for missing points, the threshold marker,
the audit report's bars."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from audit.charts import Series, bar_chart, line_chart

NS = "{http://www.w3.org/2000/svg}"


def test_chart_is_well_formed_svg_with_escaped_text():
    """Hostile names stay text; the output parses as XML."""
    svg = line_chart([Series("<script>alert(1)</script>", [(0, 0.1), (1, 0.9)], "#000")],
                     title='a "title" & <b>', marker_x=0.5)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(str(svg))
    assert root.find(f"{NS}title").text == 'a "title" & <b>'
    assert len(root.findall(f".//{NS}line[@class='marker']")) == 1


def test_missing_values_break_the_line():
    """A None in the middle splits the series into two polylines; an all-None series draws none."""
    svg = line_chart([Series("p", [(0, 0.2), (0.5, None), (1, 0.4)], "#111"), Series("q", [(0, None)], "#222")],
                     title="t")
    assert len(ET.fromstring(str(svg)).findall(f"{NS}polyline")) == 2


def test_bar_chart_is_well_formed_svg_with_escaped_labels():
    """Hostile labels, series names and titles stay text in the report's bars; the output parses as XML."""
    hostile = "<script>alert(1)</script>"
    svg = bar_chart('a "title" & <b>', [hostile, "05-02"], {hostile: [3, 0], "decisions": [1, 2]}, label_every=1)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = ET.fromstring(str(svg))
    assert root.get("aria-label") == 'a "title" & <b>'
    assert len(root.findall(f"{NS}rect")) == 4 + 2  # a bar per value, a legend swatch per series
    labels = [t.text for t in root.findall(f"{NS}text")]
    assert hostile in labels and "05-02" in labels
    assert root.find(f"{NS}rect/{NS}title").text == f"{hostile} {hostile}: 3"


def test_clock_ticks_at_the_edges_are_drawn_inward_so_none_is_cut():
    svg = str(line_chart([Series("votes", [(-23, 1), (0, 3)], "#000")], title="t", x_range=(-23, 0),
                         y_range=(0, 4), x_ticks=[(-23, "02:00"), (-12, "13:00"), (0, "01:00")]))
    labels = {el.text: el.get("text-anchor") for el in ET.fromstring(svg).iter(f"{NS}text")}
    assert labels["02:00"] == "start" and labels["13:00"] == "middle" and labels["01:00"] == "end"
