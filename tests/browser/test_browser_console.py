"""The two navigations and the lead's queue in chromium: a juror never sees a lead link; every lead page
carries the same sub-navigation, reachable with the keyboard and not overflowing a phone; the queue keeps
hostile posts inside their cells, shows clusters and deadlines, links to the author's account, and its
selection closes cases through the bulk work."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import Case, Cluster, Post, Verdict, db, utcnow
from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect
from tests.browser.test_browser_axe import LEAD_PAGES, fill, grave_violations
from tests.browser.test_browser_lead import watch_for_errors

pytestmark = pytest.mark.browser

# One unbroken string, a right-to-left override, emoji and markup: all of it must stay text, in its cell.
HOSTILE = ("<b>bold</b> \u202eevil.exe " + "🙂" * 30 + " " + "X" * 3_000)
PHONE = {"width": 375, "height": 740}


def nav_links(page, selector: str) -> list[tuple[str, str]]:
    """(text, href) of every link in the navigation the selector names."""
    return page.locator(f"{selector} a").evaluate_all(
        "links => links.map(link => [link.textContent.trim(), link.getAttribute('href')])")


def test_a_juror_sees_only_juror_links(jury, page):
    jury.report("nav-1", "You are an idiot.")
    jury.user("ann")
    log_in(page, jury, "ann")
    page.locator("#next-case").click()
    page.wait_for_url(jury.url + "/cases/*")
    for path in ("/", "/guide", "/profile", page.url.removeprefix(jury.url), "/sandbox/"):
        page.goto(jury.url + path)
        assert [text for text, _ in nav_links(page, "header nav")] == [
            "Cases", "Guide", "Profile", "Sandbox network"], path
        expect(page.locator("a[href^='/lead']")).to_have_count(0)
        expect(page.locator("#lead-subnav")).to_have_count(0)


@pytest.mark.clusters  # Jury's defaults, so the cluster page is among the pages
def test_every_lead_page_shows_the_same_navigation(jury, new_context):
    ids = fill(jury)
    jury.user("lee", role="lead")
    lead = new_context().new_page()
    log_in(lead, jury, "lee")
    expect(lead).to_have_url(jury.url + "/lead/")  # a lead lands on the queue
    # From the juror's pages, one link leads to the console and back.
    lead.goto(jury.url + "/")
    assert [text for text, _ in nav_links(lead, "header nav")] == [
        "Cases", "Guide", "Profile", "Lead console", "Sandbox network"]
    lead.get_by_role("link", name="Lead console").click()
    expect(lead).to_have_url(jury.url + "/lead/")
    header, subnav = nav_links(lead, "#lead-nav"), nav_links(lead, "#lead-subnav")
    assert [text for text, _ in header] == ["Queue", "On call", "Escalations", "Accounts", "Health", "Policy",
                                            "Juror pages", "Sandbox network"]
    assert [text for text, _ in subnav] == ["Verdicts", "Appeals", "Agreement", "Panels", "Bulk work",
                                            "Failed actions", "Jurors", "Policy history", "Thresholds",
                                            "Shadow runs", "Reports", "RQ jobs"]
    for template in LEAD_PAGES:
        path = template.format(**ids)
        if not path.startswith("/lead"):
            continue
        lead.goto(jury.url + path)
        assert (nav_links(lead, "#lead-nav"), nav_links(lead, "#lead-subnav")) == (header, subnav), path
        expect(lead.locator("#account-q")).to_be_visible()
    # The page a lead is on is marked, for sight and for screen readers.
    lead.goto(jury.url + "/lead/agreement")
    expect(lead.locator("#lead-subnav a[aria-current=page]")).to_have_text("Agreement")
    lead.goto(jury.url + f"/lead/verdicts/{ids['verdict']}/why")
    expect(lead.locator("#lead-subnav a[aria-current=page]")).to_have_text("Verdicts")
    lead.get_by_role("link", name="Juror pages").click()
    expect(lead).to_have_url(jury.url + "/")


def test_the_lead_navigation_works_with_the_keyboard_alone(jury, page):
    jury.user("lee", role="lead")
    log_in(page, jury, "lee")
    page.goto(jury.url + "/lead/reports")
    wanted = {href for _, href in nav_links(page, "#lead-nav") + nav_links(page, "#lead-subnav")}
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement && document.activeElement.getAttribute('href')")
        if href:
            reached.add(href)
        if page.evaluate("document.activeElement && document.activeElement.id") == "account-q":
            break
    assert wanted <= reached, wanted - reached
    # Shift+Tab back to Appeals and follow it with Enter.
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Appeals":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(jury.url + "/lead/appeals")
    # The account search in the sub-navigation, typed and sent from the keyboard.
    page.locator("#account-q").focus()
    page.keyboard.type("author-1")
    page.keyboard.press("Enter")
    expect(page).to_have_url(jury.url + "/lead/accounts?q=author-1")


def test_the_lead_pages_fit_a_phone(jury, new_context):
    ids = fill(jury)
    jury.user("lee", role="lead")
    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(phone, jury, "lee")
    wide = {}
    for path in ("/lead/", "/lead/verdicts", "/lead/appeals", "/lead/panels/", "/lead/policy",
                 f"/lead/verdicts/{ids['verdict']}/why", "/"):
        phone.goto(jury.url + path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
        # Every link of both navigations is on screen, none pushed past the right edge.
        for box in phone.locator("header nav a, #lead-subnav a").evaluate_all(
                "links => links.map(link => link.getBoundingClientRect().right)"):
            assert box <= PHONE["width"], path
    assert wide == {}


def seed_queue(jury) -> dict[str, int]:
    """A hostile post in a cluster of three and a plain one, both reported; and a threat to life."""
    hostile = jury.report("q-hostile", HOSTILE, reason="hate", author="<i>mallory</i>")
    plain = jury.report("q-plain", "You are a worthless idiot.", reason="harassment", author="bob")
    jury.report("q-threat", "I know where you live and I will hurt you tonight.", reason="violence_threat")
    cluster = Cluster(fingerprint="f" * 64, signature=b"\0" * 4, member_count=3)
    db.session.add(cluster)
    db.session.flush()
    db.session.execute(update(Post).where(Post.external_id == "q-hostile").values(cluster_id=cluster.id))
    db.session.commit()
    db.session.remove()
    return {"hostile": hostile, "plain": plain}


def test_the_queue_keeps_hostile_posts_in_their_cells_and_links_to_the_author(jury, new_context):
    ids = seed_queue(jury)
    jury.user("lee", role="lead")
    for size in ({"width": 1280, "height": 800}, PHONE):
        page = new_context(viewport=size).new_page()
        errors = watch_for_errors(page)
        log_in(page, jury, "lee")
        page.goto(jury.url + "/lead/")
        row = page.locator(f"#queue-{ids['hostile']}")
        cell = row.locator("td.post-cell")
        # Markup is text, the override is shown as a marker, the excerpt is capped.
        expect(cell.locator("b")).to_have_count(0)
        expect(cell.locator(".excerpt")).to_contain_text("<b>bold</b> [U+202E]evil.exe 🙂")
        assert "X" * 400 not in cell.inner_text()
        # Nothing spills out of its cell, and the page is no wider than the screen.
        assert cell.evaluate("td => td.scrollWidth <= td.clientWidth")
        cell_box, excerpt_box = cell.bounding_box(), cell.locator(".excerpt").bounding_box()
        assert excerpt_box["x"] + excerpt_box["width"] <= cell_box["x"] + cell_box["width"] + 1
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        if size["width"] > 1000:  # on a desktop the whole queue fits without scrolling sideways
            assert page.locator(".table-wrap").evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
        expect(row.locator(".cluster")).to_have_text("cluster of 3 posts")
        expect(page.locator(f"#queue-{ids['plain']} .cluster")).to_have_count(0)
        expect(row.locator(".reports-cell")).to_contain_text("Hate")
        expect(row.locator(".sla")).to_contain_text("left")
        assert errors == []
    assert grave_violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 800})
    row.locator("a.account-link").click()
    expect(page.locator("#account-id")).to_have_text("<i>mallory</i>")


def test_overdue_cases_say_so_open_cases_open_and_escalations_are_decided(jury, page):
    ids = seed_queue(jury)
    db.session.execute(update(Case).where(Case.id == ids["plain"]).values(sla_deadline=utcnow() - timedelta(hours=3)))
    db.session.execute(update(Case).where(Case.id == ids["hostile"]).values(state="escalated"))
    db.session.commit()
    db.session.remove()
    jury.user("lee", role="lead")
    log_in(page, jury, "lee")
    page.goto(jury.url + "/lead/")
    expect(page.locator(f"#queue-{ids['plain']} .sla")).to_have_text("overdue by 3 h 0 min")
    expect(page.locator(f"#queue-{ids['hostile']} .sla")).not_to_contain_text("overdue")
    # The escalation comes first, with its decision one click away.
    expect(page.locator("table#queue tbody tr").first).to_have_id(f"queue-{ids['hostile']}")
    page.locator(f"#queue-{ids['hostile']}").get_by_role("link", name="Decide").click()
    expect(page).to_have_url(f"{jury.url}/lead/cases/{ids['hostile']}/decide")
    page.go_back()
    page.locator(f"#queue-{ids['plain']}").get_by_role("link", name="Open").click()
    expect(page).to_have_url(f"{jury.url}/cases/{ids['plain']}")


def test_selected_queue_rows_are_closed_through_the_bulk_work(jury, page):
    ids = seed_queue(jury)
    keep = db.session.scalar(select(Case.id).join(Post, Post.id == Case.post_id).where(Post.external_id == "q-threat"))
    db.session.remove()
    jury.user("lee", role="lead")
    log_in(page, jury, "lee")
    page.goto(jury.url + "/lead/")
    expect(page.locator("table#queue tbody tr")).to_have_count(3)
    expect(page.locator(f"#queue-{keep}")).to_contain_text("threat to life")
    # Select with the keyboard: focus the box, press Space.
    for case_id in ids.values():
        page.locator(f"#select-{case_id}").focus()
        page.keyboard.press("Space")
        expect(page.locator(f"#select-{case_id}")).to_be_checked()
    page.get_by_label("Reason").fill("a wave of duplicate reports")
    page.locator("#queue-close").click()
    expect(page).to_have_url(jury.url + "/lead/")
    expect(page.locator(".flash")).to_have_text("Closed 2 cases as unfounded.")
    expect(page.locator("table#queue tbody tr")).to_have_count(1)
    expect(page.locator(f"#queue-{keep}")).to_be_visible()
    # One box selects every case on the page, and clears them again.
    page.locator("#select-all").check()
    expect(page.locator("input[name=case_id]:checked")).to_have_count(1)
    page.locator("#select-all").uncheck()
    expect(page.locator("input[name=case_id]:checked")).to_have_count(0)
    rows = db.session.execute(select(Verdict.case_id, Verdict.outcome, Verdict.method)).all()
    db.session.remove()
    assert sorted(rows) == sorted((case_id, "keep", "lead") for case_id in ids.values())
