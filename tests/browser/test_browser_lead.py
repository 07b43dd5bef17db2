"""The lead console in a real browser: the what-if follows the threshold, queue health refreshes itself."""
from __future__ import annotations

import pytest

from models import db
from tests.browser.playwright_expect import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def log_in_lead(page, jury) -> None:
    """Log in as the lead through the real form: a lead lands on the lead's queue."""
    jury.user("lee", role="lead")
    page.goto(jury.url + "/login")
    page.get_by_label("Username").fill("lee")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(jury.url + "/lead/")


def watch_for_errors(page) -> list[str]:
    """Collect script errors and CSP refusals (an inline script would show up here)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def test_changing_the_threshold_updates_the_what_if(jury, page):
    """Typing a candidate threshold recomputes cases a day, juror-hours and missed removals in place."""
    from tests.jury.leads.test_lead_whatif import seed_history

    seed_history()
    db.session.remove()
    log_in_lead(page, jury)
    errors = watch_for_errors(page)
    page.goto(jury.url + "/lead/tuning?model=m:1&label=toxicity&days=2")
    expect(page.locator("svg.chart")).to_be_visible()
    threshold = page.locator("#threshold")
    expect(threshold).to_have_value("0.8")  # the policy in force
    expect(page.locator("#whatif-cases")).to_have_text("2.0")
    expect(page.locator("#whatif-missed")).to_have_text("1")

    threshold.fill("0.65")
    expect(page.locator("#whatif-cases")).to_have_text("2.5")
    expect(page.locator("#whatif-hours")).to_have_text("0.15")  # 2.5 cases × 3.5 votes × 60 s
    expect(page.locator("#whatif-missed")).to_have_text("0")
    expect(page.locator("#cm-tp")).to_have_text("3")
    assert "threshold=0.65" in page.url  # the address follows, so the view can be shared

    threshold.fill("0.96")
    expect(page.locator("#whatif-cases")).to_have_text("1.0")
    expect(page.locator("#whatif-missed")).to_have_text("2")
    assert errors == []
    threshold.fill("7")  # out of range: the server answers 400 with a message in place of the figures
    expect(page.locator("#whatif .flash.error")).to_be_visible()


def test_queue_health_refreshes_itself(jury, page):
    """A case reported after the page loaded appears in the backlog without a reload."""
    log_in_lead(page, jury)
    errors = watch_for_errors(page)
    page.goto(jury.url + "/lead/health?refresh=5")
    expect(page.locator("#backlog-total")).to_have_text("0")
    jury.report("p-new", "You are a worthless idiot.")
    expect(page.locator("#backlog-total")).to_have_text("1", timeout=12_000)
    assert errors == []
