"""A panel votes blind to everyone, leads included, until it is done; a lead who reads its votes sits on
no later panel of the post; nobody who took part in a decision on a post signs off its appeal."""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from jury.appeals import review as appeals
from jury.panels import voting
from models import Appeal, Case, VoteDisclosure, db
from models.errors import Forbidden
from tests.conftest import PASSWORD, post_payload, report_payload
from triage import dealing, exclusions
from triage.policy import current_policy, publish_policy

NOTES = ["note-of-juror-zero", "note-of-juror-one", "note-of-juror-two", "note-of-juror-three",
         "note-of-juror-four"]


@pytest.fixture
def jurors(make_user):
    return [make_user(f"juror{i}") for i in range(12)]


def open_case(api, pid: str = "p1") -> int:
    api.posts(post_payload(pid, "You are all worthless and should leave."))
    api.reports(report_payload(f"r-{pid}", pid, reason="harassment"))
    return db.session.scalar(select(Case.id).where(Case.state.in_(("queued", "in_review"))))


def vote(juror, decision: str, note: str) -> None:
    seat = dealing.deal_next(juror)
    voting.cast_vote(seat.case_id, juror, decision, "harassment" if decision == "remove" else None, note)


def as_lead(client, name: str):
    g.pop("_login_user", None)  # the test's app context outlives each request: drop the cached user
    client.post("/logout")
    g.pop("_login_user", None)
    assert client.post("/login", data={"username": name, "password": PASSWORD}).status_code == 302
    return client


def test_an_open_panels_votes_stay_hidden_from_a_lead_on_every_page(app, api, jurors, make_user, client):
    case_id = open_case(api)
    vote(jurors[0], "remove", NOTES[0])
    vote(jurors[1], "keep", NOTES[1])
    assert db.session.get(Case, case_id).state == "in_review"
    make_user("lea", role="lead")
    lead = as_lead(client, "lea")
    for path in (f"/lead/cases/{case_id}/decide", "/lead/escalations", "/lead/"):
        page = lead.get(path).get_data(as_text=True)
        assert not any(note in page for note in NOTES), path
    decide = lead.get(f"/lead/cases/{case_id}/decide").get_data(as_text=True)
    assert 'id="votes-hidden"' in decide and "juror0" not in decide
    assert lead.get(f"/lead/cases/{case_id}/votes").status_code == 409
    assert db.session.scalar(select(VoteDisclosure.case_id)) is None
    # Having seen nothing, the lead may sit on the panel like any juror.
    lea = db.session.scalar(select(type(jurors[0])).where(type(jurors[0]).username == "lea"))
    assert dealing.deal_next(lea).case_id == case_id


def escalate(api, jurors) -> int:
    publish_policy({**current_policy().settings, "supermajority": 0.75}, reason="stricter", actor="test")
    db.session.commit()
    case_id = open_case(api)
    for index, decision in enumerate(("remove", "remove", "keep", "remove", "keep")):
        vote(jurors[index], decision, NOTES[index])
    assert db.session.get(Case, case_id).state == "escalated"
    return case_id


def test_a_lead_who_read_a_panels_votes_is_never_dealt_the_appeal(app, api, jurors, make_user, client):
    case_id = escalate(api, jurors)
    for name in ("lea", "leo", "lou"):
        make_user(name, role="lead")
    lead = as_lead(client, "lea")
    page = lead.get(f"/lead/cases/{case_id}/decide").get_data(as_text=True)
    assert all(note in page for note in NOTES)  # escalated: the lead must see the panel to decide
    decided = lead.post(f"/lead/cases/{case_id}/decide", data={"outcome": "remove", "rule": "harassment",
                                                               "note": "abusive in context"})
    assert decided.status_code == 302
    leo = as_lead(client, "leo")
    assert all(note in leo.get(f"/lead/cases/{case_id}/votes").get_data(as_text=True) for note in NOTES)
    readers = set(db.session.scalars(select(VoteDisclosure.user_id).where(VoteDisclosure.case_id == case_id)))
    by_name = {user.username: user for user in db.session.scalars(select(type(jurors[0])))}
    assert readers == {by_name["lea"].id, by_name["leo"].id}

    verdict = appeals.latest_decision("p1")
    appeal = appeals.file_appeal(verdict.id, "author-1", "It was banter between friends.", channel="link",
                                 actor="appellant:link")
    appeal_case = db.session.get(Case, appeal.appeal_case_id)
    policy = current_policy()
    for name in ("lea", "leo"):
        assert dealing.deal_next(by_name[name]) is None, name
        assert "saw_votes" in {reason.code for reason in exclusions.explain(appeal_case, by_name[name], policy)}
    assert dealing.deal_next(by_name["lou"]).case_id == appeal_case.id  # read nothing: may sit


def reversed_appeal(api, jurors, lead) -> Appeal:
    """A removal by three jurors, appealed; an appeal panel with `lead` on it votes to keep."""
    open_case(api)
    for juror in jurors[:3]:
        vote(juror, "remove", "")
    verdict = appeals.latest_decision("p1")
    appeal = appeals.file_appeal(verdict.id, "author-1", "Read it again.", channel="link", actor="t")
    for juror in (lead, *jurors[3:7]):
        seat = dealing.deal_next(juror)
        assert seat.case_id == appeal.appeal_case_id
        voting.cast_vote(seat.case_id, juror, "keep")
    db.session.expire_all()
    appeal = db.session.get(Appeal, appeal.id)
    assert appeal.state == "awaiting_signoff"
    return appeal


def test_a_lead_who_sat_on_the_appeal_panel_cannot_sign_off_its_reversal(app, api, jurors, make_user, client):
    lea = make_user("lea", role="lead")
    make_user("leo", role="lead")
    appeal = reversed_appeal(api, jurors, lea)
    with pytest.raises(Forbidden, match="another lead"):
        appeals.sign_off(appeal.id, lea, True, "I agree with myself")
    page = as_lead(client, "lea").post(f"/lead/appeals/{appeal.id}/sign-off",
                                       data={"decision": "approve", "reason": "looks fine"})
    assert page.status_code == 403
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "awaiting_signoff"
    ok = as_lead(client, "leo").post(f"/lead/appeals/{appeal.id}/sign-off",
                                     data={"decision": "approve", "reason": "context shows banter"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "overturned"


def test_a_lead_who_sat_on_the_original_panel_cannot_sign_off_either(app, api, jurors, make_user):
    lea = make_user("lea", role="lead")
    open_case(api)
    for juror in (lea, *jurors[:2]):
        vote(juror, "remove", "")
    verdict = appeals.latest_decision("p1")
    appeal = appeals.file_appeal(verdict.id, "author-1", "Read it again.", channel="link", actor="t")
    for juror in jurors[3:8]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "keep")
    with pytest.raises(Forbidden, match="another lead"):
        appeals.sign_off(appeal.id, lea, True, "fine")
