"""Security headers and a strict CSP on every response; pages that the CSP would not break; cookie flags."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from jury.config import _cookie_secure, load_config
from models import Case, db
from tests.conftest import ROOT, post_payload, report_payload
from tests.security.htmlscan import scan_html
from triage import dealing

REQUIRED_CSP = {
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def parse_csp(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [sources]}."""
    policy = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in policy, f"directive {words[0]} given twice"
            policy[words[0]] = words[1:]
    return policy


def assert_secure_headers(response, where: str) -> None:
    """The headers every response must carry."""
    headers = response.headers
    policy = parse_csp(headers.get("Content-Security-Policy", ""))
    for directive, sources in REQUIRED_CSP.items():
        assert policy.get(directive) == sources, f"{where}: {directive} is {policy.get(directive)}"
    assert policy.get("default-src") == ["'self'"], where
    for directive, sources in policy.items():
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(sources), f"{where}: {directive}"
        assert "data:" not in sources or directive == "img-src", f"{where}: data: in {directive}"
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"], where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert "camera=()" in headers.get("Permissions-Policy", "") and "geolocation=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers, f"{where}: HSTS over plain HTTP"


def html_pages(app, client, auth, api, make_user) -> dict[str, str]:
    """Every page a person can open, as anonymous, juror and lead, with a real case behind the case pages."""
    api.posts(post_payload("p1", "you are an idiot"))
    api.reports(report_payload("r1", "p1"))
    juror = make_user("ann")
    make_user("boss", role="lead")
    case_id = db.session.scalar(select(Case.id))
    dealing.deal_next(juror)
    pages = {}
    for path in ("/login", "/sandbox/", "/no-such-page"):
        pages[f"anonymous {path}"] = client.get(path)
    auth.login("ann")
    for path in ("/", f"/cases/{case_id}", "/sandbox/", "/lead/"):
        pages[f"juror {path}"] = client.get(path)
    auth.logout()
    auth.login("boss")
    for path in ("/", f"/cases/{case_id}", "/lead/", "/lead/escalations", "/lead/actions",
                 f"/lead/cases/{case_id}/decide", "/lead/cases/999999/decide"):
        pages[f"lead {path}"] = client.get(path)
    return pages


def test_every_page_has_a_strict_csp_and_nothing_inline(app, client, auth, api, make_user):
    pages = html_pages(app, client, auth, api, make_user)
    statuses = {where: response.status_code for where, response in pages.items()}
    assert statuses["juror /lead/"] == 403 and statuses["anonymous /no-such-page"] == 404
    assert statuses["lead /lead/cases/999999/decide"] == 404
    for where, response in pages.items():
        assert_secure_headers(response, where)
        if response.mimetype == "text/html":
            scan = scan_html(response.get_data(as_text=True))
            assert scan.problems == [], f"{where}: {scan.problems}"
            assert all(src.startswith("/static/") for src in scan.scripts), where


def test_api_static_and_error_responses_carry_the_headers(client):
    for response, where in (
        (client.get("/api/v1/openapi.json"), "openapi"),
        (client.post("/api/v1/posts", data=b"{}"), "unsigned intake"),
        (client.get("/static/jury.js"), "static"),
        (client.get("/healthz"), "healthz"),
        (client.post("/sandbox/moderation/actions", data=b"{}"), "sandbox webhook"),
    ):
        assert_secure_headers(response, where)


def test_hsts_only_over_https(client):
    secure = client.get("/login", base_url="https://jury.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    behind_proxy = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in behind_proxy.headers
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_no_template_has_inline_script_style_or_handlers():
    # Static check of every template, including pages no test renders yet.
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        source = path.read_text()
        # The app-store report is a standalone document (a PDF, or an HTML file downloaded as an
        # attachment), never a page of the app, so it carries its own stylesheet; no script, still.
        standalone = path.parent.name == "reports"
        for pattern, what in ((r"<script(?![^>]*\bsrc=)[^>]*>", "inline <script>"),
                              (r"$^" if standalone else r"<style\b", "<style> block"),
                              (r"\sstyle\s*=", "style attribute"),
                              (r"\son[a-z]+\s*=", "event-handler attribute"),
                              (r"javascript:", "javascript: URL"), (r"\|\s*safe\b", "|safe filter")):
            for match in re.finditer(pattern, source, re.IGNORECASE):
                line = source.count("\n", 0, match.start()) + 1
                problems.append(f"{Path(path).relative_to(ROOT)}:{line}: {what}")
    assert not problems, "\n".join(problems)


def test_session_cookie_flags(app, client, auth, make_user):
    make_user("ann")
    cookie = auth.login("ann").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # tests run over plain http
    app.config["SESSION_COOKIE_SECURE"] = True
    auth.logout()
    cookie = auth.login("ann").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize("explicit, public_url, testing, expected", [
    (None, "https://jury.example", False, True),
    (None, "http://jury.example", False, True),  # plain HTTP off this machine: still Secure (use HTTPS)
    (None, "http://127.0.0.1:5000", False, False),  # the local demo
    (None, "http://localhost:5000", False, False),
    (None, "https://jury.example", True, False),  # tests
    ("false", "https://jury.example", False, False),
    ("true", "http://127.0.0.1:5000", False, True),
    ("TRUE", "http://127.0.0.1:5000", True, True),
])
def test_secure_cookie_default(explicit, public_url, testing, expected):
    assert _cookie_secure(explicit, public_url, testing) is expected


def test_production_config_makes_cookies_secure(tmp_path, monkeypatch):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = load_config(tmp_path, {"PUBLIC_URL": "https://jury.example", "SECRET_KEY": "k",
                                    "INTAKE_SECRET": "i", "NETWORK_WEBHOOK_SECRET": "w"})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True and config["SESSION_COOKIE_SAMESITE"] == "Lax"
