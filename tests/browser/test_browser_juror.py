"""A juror's and a lead's pages in a real browser: blur, blind voting, the verdict reaching the network."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import log_in as log_in_page
from tests.browser.playwright_expect import expect

pytestmark = pytest.mark.browser

THREAT = "I know where you live. I will kill you tonight, you are dead."
HOSTILE = """<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>"""
BLURRED = re.compile(r"(^|\s)blurred(\s|$)")


def log_in(page, jury, username: str) -> None:
    """Log in through the real form and see the juror's greeting."""
    log_in_page(page, jury, username)
    expect(page.get_by_role("heading", name=f"Hello, {username}")).to_be_visible()


def take_next_case(page, jury, case_id: int) -> None:
    """Ask for the next case from the home page and expect to be dealt `case_id`."""
    page.goto(jury.url + "/")
    page.locator("#next-case").click()
    expect(page).to_have_url(f"{jury.url}/cases/{case_id}")


def vote_remove(page, jury, rule: str, note: str = "") -> None:
    """Pick a rule, optionally write a note, vote Remove, and land home with the confirmation."""
    page.locator(f"input[name=rule][value={rule}]").check()
    if note:
        page.get_by_role("textbox", name="Note").fill(note)
    page.locator("#vote-remove").click()
    expect(page).to_have_url(jury.url + "/")
    expect(page.locator(".flash")).to_have_text("Vote recorded. Thank you.")


def test_juror_reveals_a_blurred_post_and_must_pick_a_rule_to_remove_it(jury, page):
    """Blur, reveal, the client-side rule check, then a vote that lands home with a confirmation."""
    jury.user("ann")
    case_id = jury.report("p-threat", THREAT, reason="violence_threat")
    log_in(page, jury, "ann")

    take_next_case(page, jury, case_id)
    text = page.locator("#post-text")
    expect(text).to_have_text(THREAT)
    expect(text).to_have_class(BLURRED)
    assert text.evaluate("e => getComputedStyle(e).filter") != "none"

    page.locator("#reveal").click()
    expect(text).not_to_have_class(BLURRED)
    assert text.evaluate("e => getComputedStyle(e).filter") == "none"

    # Remove without a rule: the page says why and nothing is sent.
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    expect(page.locator("#vote-error")).to_be_hidden()
    page.locator("#vote-remove").click()
    expect(page.locator("#vote-error")).to_be_visible()
    expect(page.locator("#vote-error")).to_have_text("Pick the rule it breaks before voting to remove.")
    expect(page).to_have_url(f"{jury.url}/cases/{case_id}")
    assert posts == [] and jury.votes(case_id) == []

    vote_remove(page, jury, "violence_threat")
    assert posts == [f"{jury.url}/cases/{case_id}/vote"]
    assert jury.votes(case_id) == [("remove", "violence_threat")]
    expect(page.locator("main")).to_contain_text("You have cast 1 vote.")
    expect(page.locator("#next-case")).to_be_visible()


def test_reveal_button_goes_away_once_used(jury, page):
    """Once the post is revealed, its Reveal button is gone."""
    jury.user("ann")
    case_id = jury.report("p-threat", THREAT, reason="violence_threat")
    log_in(page, jury, "ann")
    take_next_case(page, jury, case_id)
    page.locator("#reveal").click()
    expect(page.locator("#post-text")).not_to_have_class(BLURRED)
    expect(page.locator("#reveal")).to_be_hidden(timeout=1000)


def test_hostile_post_is_shown_as_literal_text(jury, page):
    """Markup in a post or a report comment is text on every page: no element, no script, no dialog."""
    jury.user("ann")
    case_id = jury.report("p-hostile", HOSTILE, reason="harassment", comment=HOSTILE)
    dialogs = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    log_in(page, jury, "ann")
    take_next_case(page, jury, case_id)
    page.wait_for_load_state("load")  # an <img onerror> would have fired by now

    assert page.locator("#post-text").text_content() == HOSTILE
    expect(page.locator(".reports li")).to_have_text(f"Harassment: {HOSTILE}")
    assert page.locator("main img, main script").count() == 0
    assert page.title() == f"Case {case_id} — Jury"

    page.goto(jury.url + "/sandbox/")
    page.wait_for_load_state("load")
    expect(page.locator("#sandbox-p-hostile p")).to_have_text(HOSTILE)
    assert page.locator("main img, main script").count() == 0
    assert page.title() == "Sandbox network"
    assert dialogs == []


@pytest.mark.parametrize("jury", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_three_jurors_remove_a_threat_blind_and_the_network_removes_it(jury, new_context):
    """The whole loop: three blind Remove votes, a quorum verdict, the removal applied on the network."""
    names = ("ann", "bob", "cat")
    for name in names:
        jury.user(name)
    case_id = jury.report("p-threat", THREAT, reason="violence_threat")
    case_url = f"{jury.url}/cases/{case_id}"
    pages = {}
    for name in names:
        pages[name] = new_context().new_page()
        log_in(pages[name], jury, name)
    ann, bob, cat = (pages[name] for name in names)
    ann_note = "ann-private-note-4417"

    take_next_case(ann, jury, case_id)
    vote_remove(ann, jury, "violence_threat", note=ann_note)

    # Blind: bob's case page shows nothing of ann's vote, and ann sees no tally yet.
    take_next_case(bob, jury, case_id)
    html = bob.content()
    assert ann_note not in html and "Verdict" not in html and "remove —" not in html
    expect(bob.locator("#vote-form")).to_be_visible()
    expect(bob.locator("input[name=rule]:checked")).to_have_count(0)
    vote_remove(bob, jury, "violence_threat")

    ann.goto(case_url)
    expect(ann.locator("main")).to_contain_text("Your seat on this case is closed")
    assert "Verdict" not in ann.content() and "remove —" not in ann.content()
    expect(ann.locator("#vote-form")).to_have_count(0)

    take_next_case(cat, jury, case_id)
    assert ann_note not in cat.content() and "Verdict" not in cat.content()
    vote_remove(cat, jury, "violence_threat")
    assert jury.votes(case_id) == [("remove", "violence_threat")] * 3

    # The verdict went out over HTTP to the sandbox network, which removed the post.
    cat.goto(jury.url + "/sandbox/")
    expect(cat.locator("#sandbox-p-threat .state")).to_have_text("removed")
    expect(cat.locator("#sandbox-p-threat")).not_to_contain_text(THREAT)
    expect(cat.locator("table.list")).to_contain_text("remove the post")  # the action in words

    ann.goto(case_url)
    expect(ann.get_by_role("heading", name=re.compile("^Verdict"))).to_have_text(
        "Verdict: Remove (Violence or threats)")
    expect(ann.locator("main")).to_contain_text("state: decided and carried out")
    expect(ann.locator("main li", has_text="Remove — Violence or threats")).to_have_count(3)
    assert ann_note not in ann.content()  # notes are for leads only


def test_lead_pages_are_for_leads_only(jury, new_context):
    """A juror is refused the lead's queue (403); a lead sees it and the lead navigation."""
    jury.user("ann")
    jury.user("lee", role="lead")
    jury.report("p-threat", THREAT, reason="violence_threat")

    juror = new_context().new_page()
    log_in(juror, jury, "ann")
    expect(juror.get_by_role("link", name="Queue")).to_have_count(0)
    expect(juror.locator("a[href^='/lead']")).to_have_count(0)  # not one lead link on a juror's page
    for path in ("/lead/", "/lead/escalations", "/lead/actions"):
        response = juror.goto(jury.url + path)
        assert response.status == 403, path

    lead = new_context().new_page()
    log_in_page(lead, jury, "lee")
    expect(lead).to_have_url(jury.url + "/lead/")  # a lead lands on the queue
    lead.goto(jury.url + "/")
    lead.get_by_role("link", name="Lead console").click()
    expect(lead).to_have_url(jury.url + "/lead/")
    expect(lead.get_by_role("heading", name="Queue", exact=True)).to_be_visible()
    expect(lead.locator("#count-queued")).to_have_text("1")
    expect(lead.locator("table#queue tbody tr")).to_have_count(1)
    for name, path in (("Escalations", "/lead/escalations"), ("Failed actions", "/lead/actions")):
        lead.get_by_role("link", name=name).click()
        expect(lead).to_have_url(jury.url + path)


def test_phone_layout_stacks_the_vote_buttons(jury, new_context):
    """At 390x844 the vote buttons are visible, stacked, and the case page does not scroll sideways."""
    jury.user("ann")
    case_id = jury.report("p-threat", THREAT, reason="violence_threat")
    page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
    log_in(page, jury, "ann")
    take_next_case(page, jury, case_id)

    remove, keep = page.locator("#vote-remove"), page.locator("#vote-keep")
    remove.scroll_into_view_if_needed()
    expect(remove).to_be_visible()
    expect(keep).to_be_visible()
    top, bottom = remove.bounding_box(), keep.bounding_box()
    assert top["y"] + top["height"] <= bottom["y"], (top, bottom)
    assert abs(top["x"] - bottom["x"]) < 2 and abs(top["width"] - bottom["width"]) < 2
    assert 0 <= top["x"] and top["x"] + top["width"] <= 390
    assert top["height"] >= 44  # a comfortable touch target
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
