"""Error pages in a real browser: Jury's own page, styled, with its favicon, and a way on that fits
the reader (back to the cases when signed in, the login page when not)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect

pytestmark = pytest.mark.browser


def watch_for_script_errors(page) -> list[str]:
    """Script errors and CSP refusals (the error status itself is logged by Chromium too: not counted)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "status of 4" not in message.text else None)
    return errors


def assert_styled(page) -> None:
    """The app's stylesheet applied (the framework's bare page has none): the dark header bar."""
    background = page.locator("header.top").evaluate("element => getComputedStyle(element).backgroundColor")
    assert background == "rgb(29, 36, 51)"


def test_an_unknown_address_signed_out(jury, page):
    errors = watch_for_script_errors(page)
    response = page.goto(jury.url + "/no/such/page")
    assert response.status == 404
    expect(page).to_have_title("Page not found — Jury")
    expect(page.locator("h1")).to_have_text("Page not found")
    assert_styled(page)
    expect(page.locator("form[action='/logout']")).to_have_count(0)
    expect(page.get_by_text("Back to your cases")).to_have_count(0)
    icon = page.request.get(jury.url + "/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    page.locator("#error-page").get_by_role("link", name="Log in").click()
    expect(page).to_have_url(jury.url + "/login")
    assert errors == []


def test_a_juror_opening_a_lead_page_signed_in(jury, page):
    jury.user("ann")
    log_in(page, jury, "ann")
    errors = watch_for_script_errors(page)
    response = page.goto(jury.url + "/lead/")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("This page is not open to you")
    assert_styled(page)
    expect(page.get_by_role("button", name="Log out ann")).to_be_visible()
    page.get_by_role("link", name="Back to your cases").click()
    expect(page).to_have_url(jury.url + "/")
    assert errors == []
