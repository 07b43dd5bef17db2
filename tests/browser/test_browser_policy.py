"""The policy form in a real browser, by keyboard: grouped settings with help, an error shown at its
field with nothing typed lost, then a valid change published."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect
from tests.browser.test_browser_lead import watch_for_errors

pytestmark = pytest.mark.browser


def test_a_lead_fixes_an_error_at_its_field_and_publishes_by_keyboard(jury, page):
    jury.user("lee", role="lead")
    log_in(page, jury, "lee")
    errors = watch_for_errors(page)
    page.goto(jury.url + "/lead/policy")
    panel = page.get_by_label("Panel size (jurors)", exact=True)
    expect(panel).to_have_attribute("aria-describedby", "help-panel_size")
    expect(page.locator("#help-panel_size")).to_contain_text("Jurors dealt a case at first")
    panel.fill("9")
    page.get_by_label("Reason for the change").fill("bigger panels")
    page.get_by_role("button", name="Publish as a new version").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#policy-errors")).to_contain_text("Nothing was saved")
    expect(page.locator("#error-panel_size")).to_contain_text("panel_size")
    expect(page.get_by_label("Panel size (jurors)", exact=True)).to_have_value("9")
    expect(page.get_by_label("Reason for the change")).to_have_value("bigger panels")
    # The summary's link takes the keyboard to the field.
    page.locator("#policy-errors a").first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(jury.url + "/lead/policy#s:panel_size")
    page.get_by_label("Panel size (jurors)", exact=True).fill("5")
    page.get_by_role("button", name="Publish as a new version").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(jury.url + "/lead/policy/history")))
    expect(page.locator("main")).to_contain_text("bigger panels")
    # The refused form came back as a 400, which the browser logs; nothing else went wrong.
    assert [error for error in errors if "status of 400" not in error] == []
