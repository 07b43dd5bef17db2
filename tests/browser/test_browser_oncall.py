"""The on-call page and queue health in a real browser: a threat reported twice shows at once,
hidden and due within the hour; the export downloads; the health page fits a phone's width."""
from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect
from tests.browser.test_browser_lead import watch_for_errors
from tests.conftest import post_payload, report_payload

pytestmark = pytest.mark.browser

LONG = "x" * 3000  # one unbroken string


def test_a_lead_sees_a_reported_threat_on_call_and_exports_its_packet(jury, new_context):
    for who in ("ann", "bob"):
        answer = jury.api.reports(report_payload(f"r-{who}", "t1", reporter=who, reason="violence_threat",
                                                 post=post_payload("t1", f"meet me at the harbour {LONG}")))
        assert answer.status_code == 202
    jury.user("lee", role="lead")
    page = new_context(accept_downloads=True).new_page()
    log_in(page, jury, "lee")
    errors = watch_for_errors(page)
    page.goto(jury.url + "/lead/health")
    page.get_by_role("link", name="On call").first.click()
    row = page.locator("#oncall-open tbody tr").first
    expect(row).to_contain_text("2 reporters reported a violent threat")
    expect(row).to_contain_text(re.compile(r"in (5\d|60) min"))  # minutes left, within the hour
    with page.expect_download() as download:
        row.get_by_role("button", name="Export").click()
    packet = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert packet["kind"] == "jury-referral-packet" and packet["reports"][0]["reason"] == "violence_threat"
    assert errors == []


def test_queue_health_fits_a_phone(jury, new_context):
    jury.report("p1", f"Buy followers {LONG}", reason="spam", author=LONG[:120])
    jury.user("lee", role="lead")
    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    log_in(page, jury, "lee")
    for path in ("/lead/health", "/lead/oncall"):
        page.goto(jury.url + path)
        expect(page.locator("h1")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        if path == "/lead/health":
            expect(page.locator("#forecast-clears")).to_be_visible()
