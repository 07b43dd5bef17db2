"""Parse a rendered page and list anything that would run or restyle it under our CSP."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements no Jury template emits: one of these in a page came from user text.
FOREIGN_TAGS = {"img", "svg", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "math",
                "base", "b", "marquee", "video", "audio", "details", "template", "xmp", "noscript"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcdoc", "data", "poster"}
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:")


@dataclass
class Scan:
    """What a page contains: tags, script sources, text, and problems found."""

    tags: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    text: str = ""
    problems: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scan = Scan()
        self._text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        scan = self.scan
        scan.tags.append(tag)
        values = dict(attrs)
        if tag in FOREIGN_TAGS:
            scan.problems.append(f"injected <{tag}>")
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                scan.problems.append("inline <script>")
            scan.scripts.append(values.get("src") or "")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            scan.problems.append("meta refresh")
        for name, value in attrs:
            if name.startswith("on"):
                scan.problems.append(f"event handler {name}= on <{tag}>")
            if name == "style":
                scan.problems.append(f"inline style attribute on <{tag}>")
            if name in URL_ATTRIBUTES and value and value.strip().lower().startswith(SCRIPT_SCHEMES):
                scan.problems.append(f"{name}={value[:40]!r} on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.scan.problems.append("script content")
        self._text.append(data)

    def close(self):
        super().close()
        self.scan.text = "".join(self._text)


def scan_html(page: str) -> Scan:
    """Parse one HTML page."""
    parser = _Parser()
    parser.feed(page)
    parser.close()
    return parser.scan
