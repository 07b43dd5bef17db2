"""The juror's screen in chromium: three cases voted with the keyboard alone, on a phone, in French."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from models import User, db
from tests.browser.playwright_expect import expect
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

BLURRED = re.compile(r"(^|\s)blurred(\s|$)")
POSTS = {
    "k1": ("I will find you and hurt you, you are dead tonight.", "violence_threat"),
    "k2": ("You are a pathetic idiot and everyone here despises you.", "harassment"),
    "k3": ("Buy cheap followers now!!! Click my profile for a discount.", "spam"),
}


def active_juror(jury, username: str, **kwargs) -> None:
    """A juror past probation (these tests are about the screen, not the gold set)."""
    jury.user(username, network_account_id=f"net-{username}", **kwargs)
    db.session.execute(update(User).where(User.username == username).values(state="active"))
    db.session.commit()
    db.session.remove()


def log_in_with_keyboard(page, jury, username: str) -> None:
    """Type the credentials and press Enter: no mouse."""
    page.goto(jury.url + "/login")
    # The username field has autofocus; keys typed before the browser applies it are lost.
    expect(page.locator("input[name=username]")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(jury.url + "/")
    ready(page)


def ready(page) -> None:
    """Wait for the deferred script: a key pressed before it runs goes nowhere."""
    page.wait_for_load_state("domcontentloaded")


def test_a_juror_votes_three_cases_with_the_keyboard_alone(jury, page):
    active_juror(jury, "ann")
    case_ids = {jury.report(pid, text, reason=reason, author=f"author-{pid}"): pid
                for pid, (text, reason) in POSTS.items()}
    log_in_with_keyboard(page, jury, "ann")
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    ready(page)
    # Later cases arrive by fetch: this marker would vanish on a full page load.
    page.evaluate("window.__sameDocument = true")
    requests = []
    page.on("request", lambda request: requests.append((request.method, request.url, request.resource_type)))

    seen = []
    plan = iter([("k", None), ("r", "2"), ("3", "r")])
    for step in range(3):
        case_id = int(page.url.rsplit("/", 1)[1])
        assert case_id in case_ids and case_id not in seen
        seen.append(case_id)
        expect(page.locator("#case")).to_have_attribute("data-case-id", str(case_id))
        text = page.locator("#post-text")
        expect(text).to_have_class(BLURRED)
        assert "grayscale" in text.evaluate("e => getComputedStyle(e).filter")
        page.keyboard.press("v")
        expect(text).not_to_have_class(BLURRED)
        first, second = next(plan)
        page.keyboard.press(first)
        if first == "r":
            # Remove without a rule asks for one; the digit then sends the vote.
            expect(page.locator("#rule-prompt")).to_be_visible()
        if second:
            page.keyboard.press(second)
        if step < 2:
            expect(page.locator("#live")).to_have_text("Vote recorded. Thank you.")
            expect(page).not_to_have_url(f"{jury.url}/cases/{case_id}")
            assert page.evaluate("window.__sameDocument === true"), "the next case needed a full page load"
    expect(page).to_have_url(jury.url + "/")
    expect(page.locator(".flash")).to_have_text("Vote recorded. Thank you.")
    expect(page.locator("#stat-votes")).to_have_text("3")

    votes = {case_ids[case_id]: jury.votes(case_id) for case_id in seen}
    decisions = [votes[case_ids[case_id]][0] for case_id in seen]
    assert decisions == [("keep", None), ("remove", "hate"), ("remove", "harassment")]
    # Votes went by fetch, not as document navigations; the final page load is the home page.
    posts = [(url, kind) for method, url, kind in requests if method == "POST"]
    assert [kind for _, kind in posts] == ["fetch"] * 3
    assert all(url.endswith("/vote") for url, _ in posts)


def test_keys_are_shown_on_the_buttons_and_typing_a_note_votes_nothing(jury, page):
    active_juror(jury, "ann")
    case_id = jury.report("k1", POSTS["k1"][0], reason="violence_threat")
    log_in_with_keyboard(page, jury, "ann")
    page.keyboard.press("n")
    expect(page).to_have_url(f"{jury.url}/cases/{case_id}")
    ready(page)
    for selector, key in (("#vote-remove", "R"), ("#vote-keep", "K"), ("#skip", "S"), ("#reveal", "V")):
        expect(page.locator(f"{selector} kbd")).to_have_text(key)
    page.get_by_role("textbox", name="Note").press_sequentially("keep remove skip 1 2 3")
    assert jury.votes(case_id) == []
    expect(page).to_have_url(f"{jury.url}/cases/{case_id}")
    page.keyboard.press("Escape")
    page.locator("#case-heading").focus()
    page.keyboard.press("s")
    expect(page).to_have_url(jury.url + "/")
    expect(page.locator(".flash")).to_have_text("Skipped. The case goes to another juror.")


def test_the_screen_fits_a_phone_in_french(jury, new_context):
    active_juror(jury, "ann")
    jury.report("k1", POSTS["k1"][0], reason="violence_threat")
    page = new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                       locale="fr-FR").new_page()
    log_in_with_keyboard(page, jury, "ann")
    expect(page.get_by_role("heading", name="Bonjour, ann")).to_be_visible()
    expect(page.locator("#stat-votes")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#next-case").tap()
    expect(page.locator("#vote-remove")).to_contain_text("Retirer")
    ready(page)
    remove, keep = page.locator("#vote-remove"), page.locator("#vote-keep")
    remove.scroll_into_view_if_needed()
    top, bottom = remove.bounding_box(), keep.bounding_box()
    assert top["y"] + top["height"] <= bottom["y"] and top["height"] >= 44
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#reveal").tap()
    page.locator("input[name=rule][value=violence_threat]").tap()
    remove.tap()
    expect(page.locator(".flash")).to_have_text("Vote enregistré. Merci.")
    page.goto(jury.url + "/guide")
    expect(page.get_by_role("heading", name="Guide des règles")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_break_hint_appears_after_the_session_limit(jury, page):
    active_juror(jury, "ann")
    log_in_with_keyboard(page, jury, "ann")
    expect(page.locator("#session-timer")).to_contain_text("Session 0 min")
    expect(page.locator("#break-hint")).to_be_hidden()
    # Pretend the session began 51 minutes ago.
    page.evaluate("sessionStorage.setItem('jury-session-start', String(Date.now() - 51 * 60000))")
    page.reload()
    expect(page.locator("#break-hint")).to_be_visible()
    expect(page.locator("#session-timer")).to_contain_text("Session 51 min")
    page.locator("#break-dismiss").click()
    expect(page.locator("#break-hint")).to_be_hidden()
    page.reload()
    expect(page.locator("#break-hint")).to_be_hidden()


def test_single_key_shortcuts_can_be_turned_off(jury, page):
    active_juror(jury, "ann")
    case_id = jury.report("k1", POSTS["k1"][0], reason="violence_threat")
    log_in_with_keyboard(page, jury, "ann")
    page.goto(jury.url + "/profile")
    toggle = page.locator("#shortcuts-toggle")
    expect(toggle).to_be_checked()
    toggle.uncheck()
    page.goto(jury.url + "/")
    page.keyboard.press("n")
    page.wait_for_timeout(300)
    expect(page).to_have_url(jury.url + "/")  # N did nothing
    page.locator("#next-case").click()
    expect(page).to_have_url(f"{jury.url}/cases/{case_id}")
    ready(page)
    page.keyboard.press("k")
    page.wait_for_timeout(300)
    assert jury.votes(case_id) == []
    expect(page.locator("#post-text")).to_have_class(BLURRED)
