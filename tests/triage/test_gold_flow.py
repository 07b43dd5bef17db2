"""Known-answer audits: promotion to the gold set, probation, its exit, a pause and the way back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jury.panels import voting
from models import Action, Assignment, AuditEvent, Case, GoldAnswer, Post, Verdict, Vote, db, utcnow
from models.errors import Conflict
from tests.conftest import post_payload, report_payload
from triage import dealing, gold
from triage.policy import DEFAULT_SETTINGS, current_policy, publish_policy


def activate(user):
    """Skip probation (for the jurors who decide the source cases)."""
    user.state = "active"
    db.session.commit()
    return user


def small_policy(**extra):
    """Probation after 3 gold cases at 2/3, judged on the last 3 answers; no random gold for active jurors."""
    settings = dict(current_policy().settings)
    settings.update(probation_gold_cases=3, gold_accuracy_min=0.66, gold_window=3, gold_share=0.0)
    settings.update(extra)
    publish_policy(settings, reason="test", actor="test")
    db.session.commit()


def decide(api, panel, pid, outcome, rule=None):
    """Open a reported case and let the panel decide it unanimously; returns the case id."""
    api.posts(post_payload(pid, f"post {pid}: you are an idiot", author=f"author-{pid}", lang="en"))
    api.reports(report_payload(f"r-{pid}", pid, reporter=f"rep-{pid}", reason="harassment"))
    case_id = db.session.scalar(select(Case.id).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))
    for juror in panel:
        assignment = dealing.deal_next(juror)
        assert assignment is not None and assignment.case_id == case_id
        voting.cast_vote(case_id, juror, outcome, rule)
    assert db.session.scalar(select(Verdict.outcome).where(Verdict.case_id == case_id)) == outcome
    return case_id


@pytest.fixture
def panel(make_user):
    return [activate(make_user(f"old{i}", network_account_id=f"net-old-{i}")) for i in range(3)]


@pytest.fixture
def lead(make_user):
    return make_user("lee", role="lead")


@pytest.fixture
def gold_set(api, panel, lead, client, auth):
    """Six decided cases promoted through the lead's button: remove, keep, remove, keep..."""
    small_policy()
    sources = [decide(api, panel, f"g{i}", *(("remove", "harassment") if i % 2 == 0 else ("keep",)))
               for i in range(6)]
    auth.login("lee")
    for source in sources:
        response = client.post(f"/lead/panels/cases/{source}/promote", follow_redirects=True)
        assert response.status_code == 200 and "joined the gold set" in response.get_data(as_text=True)
    auth.logout()
    db.session.expire_all()
    return {answer.case_id: answer for answer in db.session.scalars(select(GoldAnswer))}


def answer(juror, gold_answers, right: bool):
    """Deal the juror the next case (must be gold) and answer it right or wrong."""
    assignment = dealing.deal_next(juror)
    assert assignment is not None, "no gold case dealt"
    expected = gold_answers[assignment.case_id]  # KeyError: a real case was dealt
    decision = expected.outcome if right else ("keep" if expected.outcome == "remove" else "remove")
    result = voting.cast_vote(assignment.case_id, juror, decision, "harassment" if decision == "remove" else None)
    assert result.outcome == "pending"
    db.session.refresh(juror)
    return assignment.case_id


def states(user_id):
    """The juror's state changes, in order, from the audit log."""
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "juror_state_changed",
                                                         AuditEvent.subject_id == str(user_id))
                                .order_by(AuditEvent.id))
    return [event.payload["to"] for event in events]


def test_policy_defaults():
    assert DEFAULT_SETTINGS["gold_share"] == 0.05
    assert DEFAULT_SETTINGS["probation_gold_cases"] == 5
    assert DEFAULT_SETTINGS["gold_accuracy_min"] == 0.8
    assert DEFAULT_SETTINGS["gold_window"] == 20


def test_promotion_copies_the_verdict_into_gold_answers(gold_set, lead):
    assert len(gold_set) == 6
    for case_id, expected in gold_set.items():
        case = db.session.get(Case, case_id)
        source = db.session.get(Case, expected.source_case_id)
        assert case.origin == "gold" and case.state == "gold" and case.post_id == source.post_id
        assert case.review_round > source.review_round
        verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == source.id))
        assert (expected.outcome, expected.rule) == (verdict.outcome, verdict.rule)
        assert expected.promoted_by == lead.id and expected.promoted_at is not None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.event_type == "gold_promoted")) == 6
    # Twice, an open case, a gold case: refused.
    with pytest.raises(Conflict):
        gold.promote(next(iter(gold_set.values())).source_case_id, lead)
    with pytest.raises(Conflict):
        gold.promote(next(iter(gold_set)), lead)


def test_an_undecided_case_cannot_be_promoted_and_jurors_cannot_promote(api, make_user, lead, client, auth):
    api.posts(post_payload("open1", "hello", lang="en"))
    api.reports(report_payload("r-open1", "open1"))
    case_id = db.session.scalar(select(Case.id))
    make_user("ann")
    auth.login("ann")
    assert client.post(f"/lead/panels/cases/{case_id}/promote").status_code == 403
    auth.logout()
    auth.login("lee")
    assert client.post(f"/lead/panels/cases/{case_id}/promote").status_code == 409
    assert db.session.scalar(select(func.count()).select_from(GoldAnswer)) == 0


def test_promote_without_csrf_token_is_refused(app, api, panel, lead, client, auth):
    small_policy()
    source = decide(api, panel, "c1", "keep")
    auth.login("lee")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/lead/panels/cases/{source}/promote").status_code == 400
    assert db.session.scalar(select(func.count()).select_from(GoldAnswer)) == 0


def test_newcomer_on_probation_gets_gold_only_and_becomes_active(api, gold_set, make_user, panel):
    # A real open case is waiting: a juror on probation must still get gold only.
    api.posts(post_payload("live1", "you are an idiot", author="someone", lang="en"))
    api.reports(report_payload("r-live1", "live1"))
    newbie = make_user("newbie", network_account_id="net-new")
    assert newbie.state == "probation"
    dealt = [answer(newbie, gold_set, right) for right in (True, False, True)]
    assert all(db.session.get(Case, case_id).origin == "gold" for case_id in dealt)
    assert newbie.state == "active" and "passed 2 of 3" in newbie.state_reason
    assert states(newbie.id) == ["active"]
    # Gold votes made no verdict and no network action.
    assert db.session.scalar(select(func.count()).select_from(Verdict).where(Verdict.case_id.in_(dealt))) == 0
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.case_id.in_(dealt))) == 0
    assert all(db.session.get(Case, case_id).state == "gold" for case_id in dealt)
    # Now active, with no random gold in this policy, the newcomer gets the real case.
    assignment = dealing.deal_next(newbie)
    assert db.session.get(Case, assignment.case_id).origin != "gold"


def test_failing_probation_keeps_the_juror_on_gold(gold_set, make_user):
    newbie = make_user("newbie", network_account_id="net-new")
    for right in (False, False, True):
        answer(newbie, gold_set, right)
    assert newbie.state == "probation" and states(newbie.id) == []
    answer(newbie, gold_set, True)  # the last three: wrong, right, right = 2/3
    assert newbie.state == "active"


def test_an_active_juror_below_the_threshold_is_paused_told_why_and_can_retrain(gold_set, make_user, client, auth):
    ann = make_user("ann", network_account_id="net-ann")
    for _ in range(3):
        answer(ann, gold_set, True)
    assert ann.state == "active"
    small_policy(gold_share=1.0)  # active jurors see gold at the policy's share; always, for the test
    answer(ann, gold_set, False)
    answer(ann, gold_set, False)
    assert ann.state == "active"  # two answers since activation: not judged yet
    answer(ann, gold_set, True)
    assert ann.state == "paused" and "agreed with 1 of the last 3" in ann.state_reason
    assert states(ann.id) == ["active", "paused"]
    assert gold.stats(ann).answered == 6 and gold.stats(ann).correct == 4

    auth.login("ann")
    home = client.get("/").get_data(as_text=True)
    assert 'id="state-paused"' in home and "agreed with 1 of the last 3" in home
    assert "known-answer training cases only" in home and "since the pause: 0 of 3" in home
    assert 'id="training-stalled"' in home  # all six gold cases answered: the page says so
    assert 'id="stat-gold"' in home and "67%" in home  # 4 of 6 known answers right
    auth.logout()


def test_paused_juror_is_dealt_gold_only_and_returns_by_passing(api, gold_set, make_user):
    ann = make_user("ann", network_account_id="net-ann")
    gold.set_state(ann, "paused", "test: low accuracy", actor="test")
    db.session.commit()
    api.posts(post_payload("live1", "you are an idiot", author="someone", lang="en"))
    api.reports(report_payload("r-live1", "live1"))
    for right in (True, True, True):
        answer(ann, gold_set, right)
    assert ann.state == "active" and states(ann.id) == ["paused", "active"]


def test_a_gold_case_looks_like_any_case_to_its_juror(gold_set, make_user, client, auth):
    newbie = make_user("newbie", network_account_id="net-new")
    assignment = dealing.deal_next(newbie)
    auth.login("newbie")
    html = client.get(f"/cases/{assignment.case_id}").get_data(as_text=True)
    assert "gold" not in html.lower()
    assert "state: in review" in html and 'id="vote-form"' in html
    source = db.session.get(Case, gold_set[assignment.case_id].source_case_id)
    shown = {"reported": "reported by users", "auto_flagged": "flagged by the model"}[source.origin]
    assert shown + " ·" in html  # the source case's origin, not "gold"


def test_jurors_who_sat_on_the_source_case_are_never_dealt_its_gold_copy(gold_set, panel):
    small_policy(gold_share=1.0)
    for juror in panel:
        assert dealing.deal_gold(juror, current_policy()) is None


def test_one_gold_statement_serves_jurors_of_a_shape_each_with_their_own_exclusions(gold_set, make_user):
    # Built once and run with each juror's values. Bob later sat on an appeal round of one gold
    # post (a round after its gold copy, so only the gold rule keeps him off it): a statement that
    # kept the first juror's id would deal him that post's gold copy.
    small_policy(gold_share=1.0)
    ann = activate(make_user("ann", network_account_id="net-ann"))
    bob = activate(make_user("bob", network_account_id="net-bob"))
    known = db.session.get(Case, next(iter(gold_set)))
    now = utcnow()
    appeal = Case(post_id=known.post_id, review_round=known.review_round + 1, origin="appeal", state="decided",
                  panel_size=3, open_seats=0, policy_version=known.policy_version, sla_deadline=now + timedelta(days=1))
    db.session.add(appeal)
    db.session.flush()
    db.session.add(Assignment(case_id=appeal.id, juror_id=bob.id, state="voted", leased_at=now, expires_at=now))
    db.session.commit()
    dealing._STATEMENTS.clear()
    assert dealing.deal_gold(ann, current_policy()).case_id in gold_set
    dealt_to_bob = set()
    while (seat := dealing.deal_gold(bob, current_policy())) is not None:
        dealt_to_bob.add(seat.case_id)
        voting.skip(seat.case_id, bob)  # one seat at a time: passing on it frees him for the next
    assert dealt_to_bob == set(gold_set) - {known.id}
    assert [key for key in dealing._STATEMENTS if key[0] == "gold"] == [("gold", (True, False, tuple(
        sorted(current_policy().daily_exposure_caps.items()))))]


def test_a_small_gold_set_waives_probation_with_an_audit_event(api, make_user):
    newbie = make_user("newbie", network_account_id="net-new")
    api.posts(post_payload("live1", "you are an idiot", author="someone", lang="en"))
    api.reports(report_payload("r-live1", "live1"))
    assert newbie.state == "probation"
    assignment = dealing.deal_next(newbie)
    assert assignment is not None and newbie.state == "active"
    assert states(newbie.id) == ["active"]
    assert "probation waived" in newbie.state_reason


def test_gold_share_deals_gold_to_active_jurors(gold_set, make_user):
    small_policy(gold_share=1.0)
    ann = activate(make_user("ann", network_account_id="net-ann"))
    assignment = dealing.deal_next(ann)
    assert db.session.get(Case, assignment.case_id).origin == "gold"
    votes_before = db.session.scalar(select(func.count()).select_from(Vote))
    voting.cast_vote(assignment.case_id, ann, "keep")
    assert db.session.scalar(select(func.count()).select_from(Vote)) == votes_before + 1
    assert gold.stats(ann).answered == 1


def test_the_newcomer_is_told_about_probation_and_leads_see_the_gold_set(gold_set, make_user, client, auth):
    newbie = make_user("newbie", network_account_id="net-new")
    answer(newbie, gold_set, True)
    auth.login("newbie")
    home = client.get("/").get_data(as_text=True)
    assert 'id="state-probation"' in home and "Training cases answered: 1 of 3." in home
    assert client.get("/lead/panels/").status_code == 403
    auth.logout()
    auth.login("lee")
    page = client.get("/lead/panels/").get_data(as_text=True)
    assert page.count("<tr><td><a href=\"/lead/panels/cases/") >= 6  # the gold set, with links
    assert "newbie</td><td class=\"state\">in training</td>" in page
    some_gold = next(iter(gold_set))
    panel = client.get(f"/lead/panels/cases/{some_gold}").get_data(as_text=True)
    assert "A gold case: expected answer" in panel
    # The three jurors who decided its source case may never be dealt it.
    assert panel.count("sat on another case of this post") == 3


def test_a_retired_gold_case_is_no_longer_dealt(gold_set, make_user, client, auth):
    auth.login("lee")
    for case_id in gold_set:
        assert client.post(f"/lead/panels/cases/{case_id}/retire").status_code == 302
    assert client.post(f"/lead/panels/cases/{next(iter(gold_set))}/retire").status_code == 409
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.event_type == "gold_retired")) == 6
    auth.logout()
    small_policy(gold_share=1.0)
    ann = activate(make_user("ann", network_account_id="net-ann"))
    assert dealing.deal_gold(ann, current_policy()) is None
    # With no live gold left, a newcomer's probation is waived rather than left with nothing to do.
    newbie = make_user("newbie", network_account_id="net-new")
    dealing.deal_next(newbie)
    assert newbie.state == "active"
