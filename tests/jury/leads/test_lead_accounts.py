"""The account page, the account search, the links to it and the juror's author setting."""
from __future__ import annotations

from datetime import timedelta

import pytest

from jury.leads import accounts, policy_versions
from models import (
    Account,
    Action,
    Appeal,
    Assignment,
    Case,
    MutedReporter,
    Post,
    Report,
    Strike,
    User,
    Verdict,
    db,
    utcnow,
)
from models.errors import NotFound
from tests.conftest import sign_in

HOSTILE = '<script>alert("id")</script>'


def _post(pid: str, author: str, at) -> Post:
    post = Post(external_id=pid, author_id=author, text=f"text of {pid}", content_hash="h", received_at=at)
    db.session.add(post)
    db.session.flush()
    return post


def _case(post: Post, at, state: str = "decided", origin: str = "reported") -> Case:
    case = Case(post_id=post.id, origin=origin, state=state, panel_size=3, open_seats=0 if state == "decided" else 3,
                policy_version=1, opened_at=at, sla_deadline=at + timedelta(hours=24),
                decided_at=at + timedelta(hours=1) if state == "decided" else None)
    db.session.add(case)
    db.session.flush()
    return case


def _verdict(case: Case, outcome: str, rule: str | None, at, posterior: float | None = None) -> Verdict:
    verdict = Verdict(case_id=case.id, outcome=outcome, rule=rule, tally={"remove": 3, "keep": 0}, method="quorum",
                      policy_version=1, statement="s", decided_at=at, posterior=posterior)
    db.session.add(verdict)
    db.session.flush()
    return verdict


def seed() -> dict:
    """One author with two removals (one strike expired, one active), reports by and against it, an
    action and an appeal; a reporter who never posted; another author with a kept post."""
    now = utcnow()
    day = timedelta(days=1)
    account = Account(external_id="acct-1", handle="alice@example.social", display_name="Alice",
                      state="suspended", suspended_until=now + 3 * day)
    db.session.add(account)
    db.session.flush()
    p1, p2, p3 = (_post(f"p{i}", "acct-1", now - (7 - 2 * i) * day) for i in (1, 2, 3))
    other = _post("p4", "other", now - 6 * day)
    for rid, post, reporter, at in (("r1", p1, "rep-1", p1.received_at + timedelta(hours=1)),
                                    ("r2", p2, "rep-1", p2.received_at + timedelta(hours=1)),
                                    ("r3", other, "acct-1", other.received_at + timedelta(hours=1))):
        db.session.add(Report(external_id=rid, post_id=post.id, reporter_id=reporter, reason="spam", received_at=at))
    c1, c2, c4 = _case(p1, now - 4.9 * day), _case(p2, now - 2.9 * day), _case(other, now - 5.9 * day)
    v1 = _verdict(c1, "remove", "spam", now - 4.8 * day)
    v2 = _verdict(c2, "remove", "hate", now - 2.8 * day, posterior=0.912)
    _verdict(c4, "keep", None, now - 5.8 * day)
    db.session.add_all([
        Strike(account_id=account.id, verdict_id=v1.id, rule="spam", weight=1.0, created_at=v1.decided_at,
               expires_at=now - day),
        Strike(account_id=account.id, verdict_id=v2.id, rule="hate", weight=2.0, created_at=v2.decided_at,
               expires_at=now + 60 * day),
        Action(case_id=c2.id, verdict_id=v2.id, type="suspend_account", idempotency_key="k-suspend",
               account_external_id="acct-1", state="sent", created_at=now - 2.7 * day),
        Appeal(verdict_id=v2.id, case_id=c2.id, appellant_account_id="acct-1", appellant_role="author",
               statement="not hate", channel="api", state="pending", created_at=now - 2 * day),
    ])
    open_case = _case(p3, now - 0.9 * day, state="queued")
    db.session.commit()
    return {"c1": c1.id, "c2": c2.id, "open": open_case.id, "v2": v2.id}


def test_the_read_model_holds_state_strikes_record_and_a_timeline_in_time_order(app):
    ids = seed()
    page = accounts.account_page("acct-1")
    assert page.account.handle == "alice@example.social"
    assert [(row.strike.rule, row.status, row.case_id, row.confidence) for row in page.strikes] == [
        ("hate", "active", ids["c2"], 0.912), ("spam", "expired", ids["c1"], None)]
    assert page.active_weight == 2.0
    assert page.counts == {"posts": 3, "removals": 2}
    kinds = [event.kind for event in page.timeline]
    assert [event.at for event in page.timeline] == sorted(event.at for event in page.timeline)
    assert {"post", "report_against", "report_by", "case", "verdict", "action", "appeal", "strike"} <= set(kinds)
    assert kinds.count("post") == 3 and kinds.count("report_against") == 2 and kinds.count("report_by") == 1
    assert kinds[:2] == ["report_by", "post"] and not page.truncated  # its report (day -6) before its first post
    # As a reporter: one report, on a post the jury kept.
    assert (page.reporter.reports, page.reporter.decided, page.reporter.upheld) == (1, 1, 0)
    assert page.reporter.upheld_share == 0.0


def test_a_reporter_who_never_posted_has_a_page_and_an_unknown_id_has_none(app):
    seed()
    db.session.add(MutedReporter(reporter_id="rep-1", reason="a wave"))
    db.session.commit()
    page = accounts.account_page("rep-1")
    assert page.account is None and page.strikes == []
    assert (page.reporter.reports, page.reporter.upheld, page.reporter.upheld_share) == (2, 2, 1.0)
    assert page.reporter.muted.reason == "a wave"
    assert [event.kind for event in page.timeline] == ["report_by", "report_by"]
    with pytest.raises(NotFound):
        accounts.account_page("nobody")


def test_an_overturned_removal_is_not_upheld(app):
    ids = seed()
    db.session.query(Appeal).filter_by(verdict_id=ids["v2"]).update({"state": "overturned"})
    db.session.commit()
    assert accounts.reporter_record("rep-1").upheld == 1
    assert accounts.account_page("acct-1").counts["removals"] == 1


def test_the_timeline_is_capped_with_a_note(app):
    seed()
    page = accounts.account_page("acct-1", limit=2)
    assert len(page.timeline) == 2 and page.truncated
    assert page.timeline[-1].at >= page.timeline[0].at


def test_the_page_for_leads(app, client, lead):
    ids = seed()
    response = client.get("/lead/accounts/acct-1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "alice@example.social" in html and 'id="timeline"' in html and 'class="strike-active"' in html
    assert "<td>Spam or scams</td>" in html and "<td>spam</td>" not in html  # rules as words
    assert f'href="/cases/{ids["c2"]}"' in html
    # How sure the panel was, beside each strike's weight (the spam removal has none kept: said nothing).
    assert html.count("% confidence)") == 1 and "(decided at 91 % confidence)" in html
    assert client.get("/lead/accounts/nobody").status_code == 404
    reporter = client.get("/lead/accounts/rep-1").get_data(as_text=True)
    assert "every reporter counts as one: the policy's reporter-accuracy weight is off" in reporter


def test_hostile_ids_and_handles_are_escaped_and_capped(app, client, lead):
    db.session.add(Account(external_id=HOSTILE, handle='"><img src=x onerror=alert(1)>' + "h" * 250))
    post = _post("hp", HOSTILE, utcnow())
    _case(post, utcnow(), state="queued")
    db.session.commit()
    for path in (accounts_url(client, HOSTILE), "/lead/", "/lead/accounts?q=img"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path
    html = client.get(accounts_url(client, HOSTILE)).get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;id&#34;)&lt;/script&gt;" in html


def accounts_url(client, external_id: str) -> str:
    from flask import url_for

    with client.application.test_request_context():
        return url_for("lead.account", external_id=external_id)


def test_search_by_id_goes_straight_to_the_page_and_by_handle_lists(app, client, lead):
    seed()
    response = client.get("/lead/accounts?q=acct-1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/lead/accounts/acct-1")
    assert client.get("/lead/accounts?q=rep-1").status_code == 302
    html = client.get("/lead/accounts?q=@ALICE").get_data(as_text=True)
    assert "/lead/accounts/acct-1" in html
    html = client.get("/lead/accounts?q=%25").get_data(as_text=True)  # a LIKE wildcard matches only itself
    assert "/lead/accounts/acct-1" not in html and "No account" in html
    assert 'name="q"' in client.get("/lead/policy").get_data(as_text=True)  # the search box in the lead nav


def test_the_account_page_is_one_click_from_case_pages_and_lists(app, client, lead):
    ids = seed()
    link = 'href="/lead/accounts/acct-1"'
    assert link in client.get("/lead/").get_data(as_text=True)  # the top of the queue
    assert link in client.get("/lead/verdicts").get_data(as_text=True)
    assert link in client.get(f"/lead/verdicts/{ids['v2']}/why").get_data(as_text=True)
    assert link in client.get(f"/cases/{ids['open']}").get_data(as_text=True)  # the case page, for a lead
    assert link in client.get(f"/lead/panels/cases/{ids['c2']}").get_data(as_text=True)
    db.session.query(Case).filter_by(id=ids["open"]).update({"state": "escalated"})
    db.session.commit()
    assert link in client.get("/lead/escalations").get_data(as_text=True)
    assert link in client.get(f"/lead/cases/{ids['open']}/decide").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    seed()
    for path in ("/lead/accounts/acct-1", "/lead/accounts?q=acct", "/lead/policy/strikes-whatif"):
        assert "/login" in client.get(path).headers["Location"], path


def test_jurors_are_forbidden(app, client, make_user):
    seed()
    juror = _active(make_user("juror"))
    with client.session_transaction() as session:
        sign_in(session, juror.id)
    for path in ("/lead/accounts/acct-1", "/lead/accounts?q=acct", "/lead/policy/strikes-whatif"):
        assert client.get(path).status_code == 403, path


def _active(user):
    db.session.query(User).filter_by(id=user.id).update({"state": "active"})
    db.session.commit()
    return db.session.get(User, user.id)


def _seat(juror, case_id: int) -> None:
    now = utcnow()
    db.session.add(Assignment(case_id=case_id, juror_id=juror.id, state="active", leased_at=now,
                              expires_at=now + timedelta(minutes=5)))
    db.session.commit()


def test_jurors_are_blind_to_the_author_unless_the_policy_says_otherwise(app, client, make_user):
    ids = seed()
    juror = _active(make_user("juror"))
    _seat(juror, ids["open"])
    with client.session_transaction() as session:
        sign_in(session, juror.id)
    html = client.get(f"/cases/{ids['open']}").get_data(as_text=True)
    assert 'id="author-removals"' not in html and "/lead/accounts/" not in html
    policy_versions.publish({**policy_versions.editable_settings(), "show_author_removals": True},
                            reason="show history", user_id=None)
    html = client.get(f"/cases/{ids['open']}").get_data(as_text=True)
    assert 'id="author-removals"' in html and "2 earlier posts" in html
    assert "/lead/accounts/" not in html  # the count, never the lead's page
    juror.locale = "fr"
    db.session.commit()
    html = client.get(f"/cases/{ids['open']}").get_data(as_text=True)
    assert "Le jury a retiré 2 publications antérieures de cet auteur." in html
