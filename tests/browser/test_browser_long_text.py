"""Unbroken strings thousands of characters long wrap in place: no page grows wider than the screen."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from jury.demo import sandbox_network as sandbox
from jury.leads import bulk
from jury.panels import voting
from models import Action, Case, User, db
from tests.browser.conftest import log_in
from tests.conftest import WEBHOOK_SECRET, signed
from triage import dealing

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 740}}
POST = "P" * 20_000  # the longest post the intake API takes
COMMENT = "C" * 2_000  # the longest report comment
NOTE = "N" * 2_000  # the longest vote note
JUROR = "j" * 40  # the longest username
LEAD = "l" * 40
POST_ID = "p" * 120
AUTHOR = "a" * 128  # the longest network id
SANDBOX_POST = "Q" * 20_000


def seed(jury) -> int:
    """A case made of long strings, with a long note, escalated; a dead action, a muted reporter, a sandbox removal."""
    jury.user(JUROR)
    jury.user(LEAD, role="lead")
    case_id = jury.report(POST_ID, POST, comment=COMMENT, author=AUTHOR)
    juror = db.session.scalar(select(User).where(User.username == JUROR))
    lead = db.session.scalar(select(User).where(User.username == LEAD))
    assert dealing.deal_next(juror).case_id == case_id
    voting.cast_vote(case_id, juror, "remove", "harassment", NOTE)
    db.session.execute(update(Case).where(Case.id == case_id).values(state="escalated"))
    db.session.add(Action(case_id=case_id, type="remove_post", idempotency_key="k-long", state="dead",
                          post_external_id=POST_ID, last_error="E" * 2_000, statement="S" * 2_000))
    db.session.commit()
    bulk.mute_reporter("r" * 128, lead, "M" * 500)
    body, headers = signed({"action_id": "a-long", "type": "remove_post", "post_id": POST_ID,
                            "statement_of_reasons": "R" * 5_000}, secret=WEBHOOK_SECRET)
    assert jury.app.test_client().post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 200
    sandbox.add_posts([{"id": "s-long", "author_id": AUTHOR, "text": SANDBOX_POST}])
    db.session.remove()
    return case_id



def too_wide(page, jury, paths: list[str], must_show: dict[str, str]) -> list[str]:
    """Each page at each width: the document no wider than the viewport, and the long text still on it."""
    problems = []
    for name, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        for path in paths:
            response = page.goto(jury.url + path)
            assert response.status == 200, f"{path}: {response.status}"
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > size["width"]:
                problems.append(f"{path} at {name} width {size['width']}: {width} px wide")
            # On a desktop screen the long cells wrap too: no table needs scrolling sideways.
            sideways = page.evaluate("[...document.querySelectorAll('.table-wrap')]"
                                     ".filter(wrap => wrap.scrollWidth > wrap.clientWidth).length")
            if name == "desktop" and sideways:
                problems.append(f"{path} at desktop width: {sideways} table(s) scroll sideways")
            shown = must_show.get(path)
            if shown is not None:
                assert shown in page.locator("main").inner_text(), f"{path}: the long text is not on the page"
    return problems


def test_long_strings_wrap_on_juror_and_lead_pages(jury, new_context):
    case_id = seed(jury)
    juror = new_context().new_page()
    log_in(juror, jury, JUROR)
    juror_pages = [f"/cases/{case_id}", "/", "/profile", "/sandbox/"]
    problems = too_wide(juror, jury, juror_pages, {f"/cases/{case_id}": COMMENT, "/sandbox/": SANDBOX_POST})
    # ...and the long post scrolls in its own box instead of burying the rest of the timeline.
    box = juror.locator("#sandbox-s-long .sandbox-text")
    assert box.evaluate("element => element.clientHeight") <= 20 * 16
    assert box.evaluate("element => element.scrollHeight > element.clientHeight")
    lead = new_context().new_page()
    log_in(lead, jury, LEAD)
    lead_pages = [f"/lead/cases/{case_id}/decide", "/lead/escalations", f"/lead/cases/{case_id}/votes", "/lead/",
                  f"/lead/bulk?post={POST_ID}", "/lead/actions", "/lead/health", "/lead/jurors", "/lead/panels/",
                  f"/lead/panels/cases/{case_id}", "/lead/appeals", "/lead/verdicts", "/sandbox/"]
    problems += too_wide(lead, jury, lead_pages, {f"/lead/cases/{case_id}/decide": NOTE,
                                                  "/lead/escalations": NOTE, f"/lead/cases/{case_id}/votes": NOTE,
                                                  "/lead/actions": "E" * 2_000, "/lead/bulk?post=" + POST_ID: POST_ID,
                                                  "/sandbox/": "R" * 5_000})
    assert problems == []


def test_long_statements_wrap_on_appeal_pages(jury, new_context):
    from jury.appeals import review as appeals
    from jury.panels import verdicts
    from triage import appeal_links

    case_id = seed(jury)
    lead_user = db.session.scalar(select(User).where(User.username == LEAD))
    verdict = verdicts.decide_escalation(case_id, lead_user, "remove", "harassment", "D" * 2_000)
    link = urlsplit(appeal_links.appeal_url(verdict.id)).path
    db.session.remove()
    author = new_context().new_page()
    problems = too_wide(author, jury, [link], {link: POST[:1_000]})  # the author's appeal form
    appeal_case = appeals.file_appeal(verdict.id, AUTHOR, "S" * 5_000, channel="api", actor="network").appeal_case_id
    db.session.remove()
    lead = new_context().new_page()
    log_in(lead, jury, LEAD)
    problems += too_wide(lead, jury, ["/lead/appeals", "/lead/verdicts", f"/cases/{appeal_case}",
                                      f"/lead/cases/{case_id}/votes"], {f"/cases/{appeal_case}": "S" * 5_000})
    assert problems == []
