"""An author's appeal in a real browser: signed link, statement, fresh panel, lead sign-off, restore on the network."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from jury.panels import voting
from models import Appeal, Case, SandboxAction, User, Verdict, db
from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect
from triage import appeal_links, dealing

pytestmark = pytest.mark.browser

POST = "Tonight we burn the stage down. (A line from the band's song, quoted for their gig.)"
STATEMENT = """It is a song lyric <script>document.title='pwned'</script><img src=x onerror="document.title='pwned'">"""



def panel_votes(usernames, decision: str, rule: str | None = None) -> None:
    """Jurors take their seats and vote through the services (the browser part is tested elsewhere)."""
    for username in usernames:
        juror = db.session.scalar(select(User).where(User.username == username))
        assignment = dealing.deal_next(juror)
        assert assignment is not None, f"{juror.username} was dealt nothing"
        voting.cast_vote(assignment.case_id, juror, decision, rule)
    db.session.remove()


def removed_with_link(jury, pid: str = "p-lyric") -> tuple[str, int]:
    """A reported post removed by a first panel; returns the appeal_url the network received."""
    first = [f"first{i}" for i in range(3)]
    for name in first:
        jury.user(name)
    case_id = jury.report(pid, POST, reason="violence_threat")
    panel_votes(first, "remove", "violence_threat")
    action = db.session.scalar(select(SandboxAction).where(SandboxAction.type == "remove_post",
                                                           SandboxAction.post_id == pid))
    url = action.payload["appeal_url"]
    db.session.remove()
    return url, case_id


def test_author_appeals_fresh_panel_overturns_lead_signs_off_and_the_network_restores(jury, new_context):
    url, first_case = removed_with_link(jury)
    fresh = [f"fresh{i}" for i in range(5)]
    for name in fresh:
        jury.user(name)
    jury.user("lea", role="lead")

    author = new_context().new_page()
    # The network shows the link that came with the removal to its author, and to nobody else.
    author.goto(jury.url + "/sandbox/")
    expect(author.locator("a.appeal-link")).to_have_count(0)
    author.get_by_label("Browse the network as").select_option("author-1")
    author.locator("#browse-as").get_by_role("button", name="Switch").click()
    # The removal and the suspension a violent threat calls for carry the same appeal: one link each.
    links = author.locator("a.appeal-link")
    expect(links).to_have_count(2)
    for index in range(2):
        expect(links.nth(index)).to_have_attribute("href", url)
    links.first.click()
    expect(author).to_have_url(url)
    expect(author.get_by_role("heading", name="Appeal a moderation decision")).to_be_visible()
    expect(author.locator("#decision-statement")).to_contain_text("Removed for breaking the rule 'Violence or threats'")
    expect(author.locator("#appeal-post")).to_have_text(POST)
    author.get_by_label("Why was the decision wrong?").fill(STATEMENT)
    author.locator("#send-appeal").click()
    expect(author.locator("#appeal-received")).to_be_visible()
    expect(author.locator("#appeal-statement")).to_have_text(STATEMENT)
    assert author.title() != "pwned"

    appeal = db.session.scalar(select(Appeal))
    appeal_case = db.session.get(Case, appeal.appeal_case_id)
    assert (appeal.state, appeal_case.origin, appeal_case.panel_size) == ("pending", "appeal", 5)
    original = db.session.scalars(select(Verdict.case_id)).all()
    db.session.remove()
    assert original == [first_case]

    # The first panel is never dealt the appeal.
    for name in ("first0", "first1", "first2"):
        juror = db.session.scalar(select(User).where(User.username == name))
        assert dealing.deal_next(juror) is None
    db.session.remove()

    # One fresh juror in the browser sees the statement and votes keep; four more through the services.
    juror_page = new_context().new_page()
    log_in(juror_page, jury, "fresh0")
    juror_page.locator("#next-case").click()
    expect(juror_page).to_have_url(f"{jury.url}/cases/{appeal_case.id}")
    expect(juror_page.locator("#appeal-statement")).to_have_text(STATEMENT)
    juror_page.locator("#vote-keep").click()
    expect(juror_page.locator(".flash")).to_have_text("Vote recorded. Thank you.")
    panel_votes(fresh[1:], "keep")
    assert db.session.scalar(select(Appeal.state)) == "awaiting_signoff"
    assert db.session.scalar(select(SandboxAction.id).where(SandboxAction.type == "restore_post")) is None
    db.session.remove()

    lead = new_context().new_page()
    log_in(lead, jury, "lea")
    lead.get_by_role("link", name="Appeals").click()
    card = lead.locator(f"#appeal-{appeal.id}")
    expect(card).to_contain_text("Fresh panel: Keep (0 remove, 5 keep)")
    expect(card.locator(".appeal-statement")).to_have_text(STATEMENT)
    card.get_by_label("Decision").select_option("approve")
    card.get_by_label("Reason (sent to the appellant)").fill("The post quotes the band's own lyric.")
    card.locator(f"#sign-off-{appeal.id}").click()
    expect(lead.locator(".flash")).to_have_text(f"Appeal {appeal.id} signed off.")
    expect(lead.locator("#no-signoffs")).to_be_visible()
    expect(lead.locator(".appeal-state").first).to_have_text("overturned")

    # The sandbox network received the restore and the reasoned notices.
    lead.goto(jury.url + "/sandbox/")
    expect(lead.locator("#sandbox-p-lyric .state")).to_have_text("visible")
    expect(lead.locator("table.list")).to_contain_text("restore the post")
    restore = db.session.scalar(select(SandboxAction).where(SandboxAction.type == "restore_post"))
    assert restore.post_id == "p-lyric"
    notes = db.session.scalars(select(SandboxAction).where(SandboxAction.type == "notify",
                                                           SandboxAction.account_id == "author-1")).all()
    said = [n.payload["statement_of_reasons"] for n in notes]
    assert any("succeeded" in text and "band's own lyric" in text for text in said)
    db.session.remove()


def test_tampered_expired_and_reused_links_say_why(jury, page):
    url, _ = removed_with_link(jury, "p-link")
    verdict_id = db.session.scalar(select(Verdict.id))
    db.session.remove()

    tampered = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    response = page.goto(tampered)
    assert response.status == 400
    expect(page.locator(".flash.error")).to_contain_text("This appeal link is not valid")
    expect(page.locator("#appeal-form")).to_have_count(0)

    response = page.goto(url.rsplit("/", 1)[0] + "/" + "garbage")
    assert response.status == 400

    with jury.app.test_request_context():
        old = appeal_links.appeal_url(verdict_id, issued_at=time.time() - 190 * 86400)
    response = page.goto(jury.url + "/appeal/" + old.rsplit("/", 1)[1])
    assert response.status == 410
    expect(page.locator(".flash.error")).to_contain_text("This appeal link has expired")

    page.goto(url)
    page.get_by_label("Why was the decision wrong?").fill("Please look again.")
    page.locator("#send-appeal").click()
    expect(page.locator("#appeal-received")).to_be_visible()
    response = page.goto(url)
    assert response.status == 409
    expect(page.locator(".flash.error")).to_contain_text("This appeal link was already used")
    assert db.session.scalar(select(Appeal.statement)) == "Please look again."
    db.session.remove()


def test_an_empty_or_oversized_statement_is_refused_in_the_page(jury, page):
    url, _ = removed_with_link(jury, "p-size")
    page.goto(url)
    # The browser caps the field itself; a hand-made request over the cap is refused by the server.
    assert page.get_by_label("Why was the decision wrong?").get_attribute("maxlength") == "5000"
    token = page.locator("input[name=csrf_token]").get_attribute("value")
    response = page.request.post(url, form={"csrf_token": token, "statement": "x" * 5001})
    assert response.status == 400
    response = page.request.post(url, form={"csrf_token": token, "statement": "   "})
    assert response.status == 400
    assert db.session.scalar(select(Appeal.id)) is None
    db.session.remove()
