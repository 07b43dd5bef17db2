"""Bulk work: closing a filtered set of cases as unfounded, muting a spam reporter, the escalation inbox."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import Action, AuditEvent, Case, MutedReporter, Post, Report, Verdict, Vote, db
from tests.conftest import PASSWORD, post_payload, report_payload


@pytest.fixture
def lead(app, client, make_user):
    """The client, logged in as a lead."""
    make_user("lead", role="lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    return client


def spam_wave(api) -> None:
    """A spammer reports three harmless posts; someone else reports one real insult."""
    for n in range(3):
        api.reports(report_payload(f"s{n}", f"p{n}", reporter="spammer", reason="hate",
                                   post=post_payload(f"p{n}", "Lovely garden photos today.")))
    api.reports(report_payload("r9", "p9", reporter="carol", post=post_payload("p9", "You are a worthless idiot.")))


def case_of(pid: str) -> Case:
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


def test_filter_by_reporter_then_close_as_unfounded(app, lead, api):
    """The spammer's cases are listed; closing them records keep verdicts by the lead, with audit events."""
    spam_wave(api)
    page = lead.get("/lead/bulk?reporter=spammer").get_data(as_text=True)
    ids = [str(case_of(f"p{n}").id) for n in range(3)]
    # Exactly the spammer's three cases are offered; carol's report on p9 is not among them.
    assert sorted(re.findall(r'name="case_id" value="(\d+)"', page)) == sorted(ids)
    assert f'value="{case_of("p9").id}"' not in page
    response = lead.post("/lead/bulk/close?reporter=spammer", data={"note": "spam wave", "case_id": ids})
    assert response.status_code == 302
    db.session.expire_all()
    verdicts = db.session.scalars(select(Verdict).order_by(Verdict.case_id)).all()
    assert [(v.outcome, v.method) for v in verdicts] == [("keep", "lead")] * 3
    assert case_of("p9").state == "queued"
    # Each reporter is told; nothing is removed.
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.type == "remove_post")) == 0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "cases_closed_unfounded"))
    assert sorted(event.payload["case_ids"]) == sorted(int(i) for i in ids) and event.payload["note"] == "spam wave"
    # Closing again changes nothing: they are no longer open.
    lead.post("/lead/bulk/close", data={"note": "again", "case_id": ids})
    assert db.session.scalar(select(func.count()).select_from(Verdict)) == 3


def test_bulk_needs_a_filter_a_reason_and_a_selection(app, lead, api):
    """No filter lists nothing; no reason or no selection closes nothing; a bad date is a 400."""
    spam_wave(api)
    assert 'name="case_id"' not in lead.get("/lead/bulk").get_data(as_text=True)
    ids = [str(case_of("p0").id)]
    lead.post("/lead/bulk/close", data={"note": "", "case_id": ids})
    lead.post("/lead/bulk/close", data={"note": "x"})
    lead.post("/lead/bulk/close", data={"note": "x", "case_id": ["abc", "-1", "99999"]})
    assert db.session.scalar(select(func.count()).select_from(Verdict)) == 0
    assert lead.get("/lead/bulk?since=yesterday").status_code == 400


def test_filters_by_post_reason_state_and_dates(app, lead, api):
    """Each filter narrows the set."""
    spam_wave(api)
    assert lead.get("/lead/bulk?post=p1").get_data(as_text=True).count('name="case_id"') == 1
    assert lead.get("/lead/bulk?reason=harassment").get_data(as_text=True).count('name="case_id"') == 1
    assert lead.get("/lead/bulk?state=escalated").get_data(as_text=True).count('name="case_id"') == 0
    assert lead.get("/lead/bulk?since=2000-01-01").get_data(as_text=True).count('name="case_id"') == 4
    assert lead.get("/lead/bulk?until=2000-01-01").get_data(as_text=True).count('name="case_id"') == 0


def test_a_muted_reporter_opens_and_raises_no_case(app, lead, api):
    """After muting, the spammer's reports are stored but open no case and do not raise an open one."""
    spam_wave(api)
    assert lead.post("/lead/reporters/mute", data={"reporter": "spammer", "reason": "spam wave"}).status_code == 302
    assert db.session.scalar(select(MutedReporter.reporter_id)) == "spammer"
    api.reports(report_payload("s10", "p10", reporter="spammer", post=post_payload("p10", "Nice cat.")))
    assert db.session.scalar(select(func.count()).select_from(Report).where(Report.external_id == "s10")) == 1
    assert case_of("p10") is None
    before = case_of("p9")
    priority, count = before.priority, before.report_count
    api.reports(report_payload("s11", "p9", reporter="spammer"))
    db.session.expire_all()
    after = case_of("p9")
    assert (after.priority, after.report_count) == (priority, count)
    # A report from someone else still counts.
    api.reports(report_payload("r12", "p9", reporter="dave"))
    db.session.expire_all()
    assert case_of("p9").report_count == count + 1
    assert lead.post("/lead/reporters/unmute", data={"reporter": "spammer"}).status_code == 302
    assert lead.post("/lead/reporters/unmute", data={"reporter": "spammer"}).status_code == 404
    kinds = list(db.session.scalars(select(AuditEvent.event_type).where(AuditEvent.subject_type == "reporter")))
    assert kinds == ["reporter_muted", "reporter_unmuted"]


def test_mute_input_is_bounded(app, lead):
    """An oversized account name or a missing reason mutes nobody."""
    lead.post("/lead/reporters/mute", data={"reporter": "x" * 129, "reason": "r"})
    lead.post("/lead/reporters/mute", data={"reporter": "x", "reason": ""})
    assert db.session.scalar(select(MutedReporter.id)) is None


def test_escalations_show_every_vote_and_open_cases_stay_blind(app, lead, api, make_user):
    """The inbox lists each escalated case's votes; the vote page refuses a case still open."""
    api.reports(report_payload("r1", "p1", post=post_payload("p1", "<b>hostile</b> text")))
    case = case_of("p1")
    juror = make_user("ann")
    db.session.add(Vote(case_id=case.id, juror_id=juror.id, decision="remove", rule="harassment",
                        note="<script>x</script>"))
    db.session.commit()
    assert lead.get(f"/lead/cases/{case.id}/votes").status_code == 409
    case.state = "escalated"
    db.session.commit()
    html = lead.get("/lead/escalations").get_data(as_text=True)
    assert "ann" in html and "Harassment" in html and "&lt;script&gt;x" in html and "<script>x" not in html
    assert "ann" in lead.get(f"/lead/cases/{case.id}/votes").get_data(as_text=True)
    assert lead.get("/lead/cases/999/votes").status_code == 404
