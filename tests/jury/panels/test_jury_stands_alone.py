"""A jury that stands on its own, through the real dealing and voting code: a split panel widens when
one more vote is worth it, and the leads' capacity caps escalations (a full desk: the panel decides
at its leaning and says so)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jury.panels import voting
from models import AuditEvent, Case, JurorReliability, Verdict, db
from tests.conftest import post_payload, report_payload
from triage import dealing
from triage.policy import PolicyError, PolicyInForce, current_policy, publish_policy, validate_settings


def use_policy(**settings):
    publish_policy({**current_policy().settings, **settings}, reason="test", actor="test")
    db.session.commit()


@pytest.fixture
def jurors(make_user):
    return [make_user(f"juror{i}", network_account_id=f"net-juror-{i}") for i in range(6)]


def rate(jurors, accuracy):
    """Store every juror's estimated matrix (as a re-estimation would)."""
    for juror in jurors:
        db.session.add(JurorReliability(juror_id=juror.id, sensitivity=accuracy, specificity=accuracy, votes=50))
    db.session.commit()


def report(api, *pids):
    api.posts(*[post_payload(pid, f"post {pid}") for pid in pids])
    api.reports(*[report_payload(f"r-{pid}", pid) for pid in pids])


def vote(juror, decision):
    assignment = dealing.deal_next(juror)
    assert assignment is not None, f"{juror.username} was dealt nothing"
    result = voting.cast_vote(assignment.case_id, juror, decision, "harassment" if decision == "remove" else None)
    return assignment.case_id, result.outcome


def test_a_split_panel_of_reliable_jurors_gains_a_seat_instead_of_going_to_a_lead(api, jurors):
    use_policy(verdict_method="weighted")  # the defaults: votes weighed against leads, up to 12 seats
    rate(jurors, 0.9)
    report(api, "p1")
    assert vote(jurors[0], "remove")[1] == "pending"
    case_id, outcome = vote(jurors[1], "keep")
    assert outcome == "widen"
    case = db.session.get(Case, case_id)
    assert (case.state, case.panel_size, case.open_seats) == ("in_review", 3, 1)
    # Two reliable jurors agreeing after the split reach the confidence: no lead was needed.
    vote(jurors[2], "remove")
    assert vote(jurors[3], "remove")[1] == "remove"
    verdict = db.session.scalar(select(Verdict))
    assert verdict.method == "weighted" and verdict.posterior >= 0.95 and "leaning" not in verdict.statement


def test_the_leads_desk_caps_escalations_and_a_panel_beyond_it_decides_at_its_leaning(api, jurors):
    use_policy(verdict_method="weighted", max_open_escalations=1)
    rate(jurors, 0.5)  # votes that tell nothing: no further vote is worth asking for
    report(api, "p1", "p2")
    outcomes = dict(vote(juror, decision) for juror, decision in zip(jurors[:4], ["remove", "keep"] * 2,
                                                                       strict=True))
    assert sorted(outcomes.values()) == ["escalate", "keep"]
    escalated = next(case_id for case_id, outcome in outcomes.items() if outcome == "escalate")
    assert db.session.get(Case, escalated).state == "escalated"
    verdict = db.session.scalar(select(Verdict))
    assert verdict.case_id != escalated and verdict.outcome == "keep"  # no removal without a leaning
    assert "decided at its leaning, an estimated 50% likely to be right" in verdict.statement
    assert "no trust-and-safety lead was free" in verdict.statement
    reached = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "verdict_reached"))
    assert reached.payload["at_leaning"] == "leads_full"


def test_a_split_quorum_panel_goes_by_its_majority_when_no_lead_is_free(api, jurors):
    use_policy(verdict_method="quorum", supermajority=0.75, max_open_escalations=0)
    report(api, "p1")
    outcomes = [vote(juror, decision)[1] for juror, decision in
                zip(jurors[:5], ["remove", "remove", "keep", "remove", "keep"], strict=True)]
    assert outcomes == ["pending", "pending", "widen", "pending", "remove"]
    verdict = db.session.scalar(select(Verdict))
    assert verdict.method == "quorum" and verdict.tally["remove"] == 3 and verdict.rule == "harassment"
    assert "no trust-and-safety lead was free" in verdict.statement
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.event_type == "case_escalated")) is None


def test_the_new_settings_are_checked():
    for bad in ({"vote_cost": -0.1}, {"vote_cost": 0.5}, {"lead_cost": 0}, {"lead_cost": 0.6},
                {"max_open_escalations": -1}):
        with pytest.raises(PolicyError, match=next(iter(bad))):
            validate_settings(bad)
    defaults = PolicyInForce(1, validate_settings({}))
    assert defaults.vote_cost > 0 and 0 < defaults.lead_cost < 0.5 and defaults.max_open_escalations > 0
    # Versions published before the settings keep the rule they were published with.
    older = PolicyInForce(1, {"verdict_method": "weighted"})
    assert (older.vote_cost, older.max_open_escalations, older.max_panel_size) == (0.0, None, 6)
