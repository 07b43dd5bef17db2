"""Browser fixtures: Debian's chromium driven by Playwright, and Jury served over real HTTP."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import select

from models import Case, Post, Vote, db
from tests.conftest import PASSWORD, Api, LiveServer, make_app, post_payload, report_payload

IN_CI = os.environ.get("CI", "").lower() == "true"
# Debian's chromium, fully offline: no sandbox (containers), no GPU, no phoning home.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# A broken page should fail in seconds, not hang for Playwright's default 30.
TIMEOUT_MS = 10_000


def browser_missing(message: str) -> None:
    """Skip locally, fail in CI: CI must never pass by skipping the browser tests."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the whole session (browsers cannot be downloaded, so use the system one)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as error:
        browser_missing(f"playwright is not installed: {error}")
    executable = shutil.which("chromium")
    if executable is None:
        browser_missing("chromium is not installed (scripts/ensure-chromium.sh or `apt-get install chromium`)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except Error as error:
            browser_missing(f"chromium did not start: {error}")
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser):
    """Open isolated browser contexts (separate cookies: separate people); all closed after the test."""
    contexts = []

    def factory(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh context."""
    return new_context().new_page()


@dataclass
class Jury:
    """A Jury app with CSRF on, served over HTTP, and helpers to seed it."""

    app: Flask
    url: str
    api: Api = field(init=False)

    def __post_init__(self):
        self.api = Api(self.app.test_client())

    def user(self, username: str, role: str = "juror", **kwargs):
        """Create an account with the shared test password."""
        from jury.jurors import users

        user = users.create_user(username, PASSWORD, role, **kwargs)
        db.session.remove()
        return user

    def report(self, pid: str, text: str, reason: str = "harassment", *, comment: str | None = None,
               author: str = "author-1", on_sandbox: bool = True) -> int:
        """Put a post on the sandbox network, report it through the signed API; returns its case id."""
        from jury.demo import sandbox_network as sandbox

        if on_sandbox:
            sandbox.add_posts([{"id": pid, "author_id": author, "text": text}])
        extra = {"comment": comment} if comment is not None else {}
        response = self.api.reports(report_payload(f"r-{pid}", pid, reason=reason,
                                                   post=post_payload(pid, text, author=author), **extra))
        assert response.status_code == 202, response.get_data(as_text=True)
        case_id = db.session.scalar(select(Case.id).join(Post, Post.id == Case.post_id)
                                    .where(Post.external_id == pid))
        db.session.remove()  # hold no transaction while the server threads write
        return case_id

    def votes(self, case_id: int) -> list[tuple[str, str | None]]:
        """(decision, rule) of every vote on the case, as stored."""
        rows = db.session.execute(select(Vote.decision, Vote.rule).where(Vote.case_id == case_id)
                                  .order_by(Vote.id)).all()
        db.session.remove()
        return [tuple(row) for row in rows]


@pytest.fixture
def jury(tmp_path, request):
    """Jury on SQLite (or the backend given by indirect parametrization), CSRF on, over real HTTP."""
    backend = getattr(request, "param", "sqlite")
    app = make_app(backend, tmp_path, request, WTF_CSRF_ENABLED=True)
    with app.app_context():
        with LiveServer(app) as server:
            yield Jury(app, server.url)
        db.session.remove()
        db.engine.dispose()


def log_in(page, jury, username: str) -> None:
    """Log in through the real form (its CSRF token included) and land on the home page: the lead's
    queue for a lead, the juror's cases for a juror."""
    # Here, not at the top: that module skips whatever imports it when Playwright is missing.
    from tests.browser.playwright_expect import expect

    page.goto(jury.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(jury.url) + r"/(lead/)?$"))
