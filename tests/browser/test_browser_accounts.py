"""The account page in a real browser: from a case's author link to the account's timeline, and the search."""
from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect
from tests.browser.test_browser_lead import watch_for_errors

pytestmark = pytest.mark.browser


def test_a_lead_opens_the_account_page_from_a_case_and_sees_its_timeline(jury, page):
    hostile = 'author-<b>bold</b>"&'
    jury.report("acc-p1", "First post of the author.", author=hostile)
    case_id = jury.report("acc-p2", "Second post of the author.", author=hostile)
    jury.user("lee", role="lead")
    log_in(page, jury, "lee")
    errors = watch_for_errors(page)
    page.goto(f"{jury.url}/cases/{case_id}")
    page.locator("a.account-link").first.click()
    expect(page.locator("#account-id")).to_have_text(hostile)  # shown as text, never as markup
    timeline = page.locator("#timeline tbody tr")
    expect(timeline.filter(has_text="posted")).to_have_count(2)
    expect(timeline.filter(has_text="case opened")).to_have_count(2)
    first, last = timeline.first.locator("td").first.inner_text(), timeline.last.locator("td").first.inner_text()
    assert first <= last  # oldest first
    assert page.locator("#account-id b").count() == 0
    # The search box in the lead nav finds the account by part of its id.
    page.locator("#account-q").fill("<b>bold")
    page.locator("#account-q").press("Enter")
    expect(page.locator("#account-results a.account-link")).to_have_count(1)
    assert errors == []
