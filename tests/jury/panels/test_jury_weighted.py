"""Reliability-weighted verdicts through the real dealing and voting code, and the lead's pages."""
from __future__ import annotations

import math
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from jury.panels import agreement, juror_reliability, verdicts, voting
from jury.tasks import sweeper
from models import AuditEvent, Case, JurorReliability, Post, ReliabilityRun, Verdict, db, utcnow
from tests.conftest import PASSWORD, post_payload, report_payload
from triage import cases, dealing, transaction
from triage.policy import PolicyError, current_policy, publish_policy


def use_policy(**settings):
    publish_policy({**current_policy().settings, **settings}, reason="test", actor="test")
    db.session.commit()


@pytest.fixture
def weighted():
    # The fixed rule (vote_cost 0): add seats until `confidence`, escalate at the cap.
    use_policy(verdict_method="weighted", confidence=0.95, min_votes=2, max_panel_size=4, vote_cost=0)


@pytest.fixture
def jurors(make_user):
    return [make_user(f"juror{i}", network_account_id=f"net-juror-{i}") for i in range(6)]


@pytest.fixture
def case(api, weighted):
    api.posts(post_payload("p1", "You are all idiots and I hate this place"))
    api.reports(report_payload("r1", "p1"))
    return db.session.scalar(select(Case))


def vote(juror, decision):
    assignment = dealing.deal_next(juror)
    assert assignment is not None, f"{juror.username} was dealt nothing"
    return voting.cast_vote(assignment.case_id, juror, decision, "harassment" if decision == "remove" else None)


def test_a_weighted_case_opens_two_seats_and_adds_one_until_sure(case, jurors):
    assert (case.panel_size, case.open_seats) == (2, 2)
    # New jurors count at the prior accuracy 0.75: each remove vote multiplies the odds by 3.
    # Two votes: odds 9, P = 0.9 < 0.95, so a third seat opens.
    assert vote(jurors[0], "remove").outcome == "pending"
    assert vote(jurors[1], "remove").outcome == "widen"
    db.session.expire_all()
    assert (db.session.get(Case, case.id).panel_size, db.session.get(Case, case.id).open_seats) == (3, 1)
    # Three votes: odds 27, P = 27/28 = 0.964 >= 0.95: removed by the weighted method.
    assert vote(jurors[2], "remove").outcome == "remove"
    verdict = db.session.scalar(select(Verdict))
    assert verdict.method == "weighted" and verdict.outcome == "remove"
    assert verdict.posterior == pytest.approx(27 / 28, abs=1e-5)
    assert len(verdict.weights["votes"]) == 3 and verdict.weights["prior"] == 0.5
    assert all(term["juror"].startswith("J-") for term in verdict.weights["votes"])
    assert "reliability-weighted" in verdict.statement
    # The fourth juror is dealt nothing: the case is closed.
    assert dealing.deal_next(jurors[3]) is None


def test_reliable_jurors_decide_with_two_votes(case, jurors):
    for juror in jurors[:2]:
        db.session.add(JurorReliability(juror_id=juror.id, sensitivity=0.95, specificity=0.95, votes=100))
    db.session.commit()
    vote(jurors[0], "keep")
    # Odds (0.05/0.95)^2 = 1/361: P(keeps) = 361/362.
    assert vote(jurors[1], "keep").outcome == "keep"
    verdict = db.session.scalar(select(Verdict))
    assert verdict.posterior == pytest.approx(1 / 362, abs=1e-5)
    assert dealing.deal_next(jurors[2]) is None


def test_a_panel_that_stays_unsure_escalates_at_the_cap(case, jurors):
    outcomes = [vote(j, d).outcome for j, d in zip(jurors, ["remove", "keep", "remove", "keep"], strict=False)]
    assert outcomes == ["pending", "widen", "widen", "escalate"]
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "escalated"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "case_escalated"))
    assert event.payload["posterior"] == pytest.approx(0.5)


def test_majority_verdicts_record_the_posterior_too(api, jurors):
    use_policy(verdict_method="quorum")
    api.posts(post_payload("p1"))
    api.reports(report_payload("r1", "p1"))
    assert [vote(j, "keep").outcome for j in jurors[:3]] == ["pending", "pending", "keep"]
    verdict = db.session.scalar(select(Verdict))
    assert verdict.method == "quorum" and verdict.posterior == pytest.approx(1 / 28, abs=1e-5)


def test_the_sweeper_reestimates_and_the_model_score_becomes_a_prior(api, jurors):
    use_policy(verdict_method="quorum", reestimate_every_verdicts=2)
    texts = ["I will kill you and your family", "Lovely sunset over the bay", "You idiot, get lost",
             "Thanks for the recipe"]
    api.posts(*[post_payload(f"p{i}", text) for i, text in enumerate(texts)])
    api.reports(*[report_payload(f"r{i}", f"p{i}") for i in range(len(texts))])
    for _ in texts:
        for juror in jurors[:3]:
            assignment = dealing.deal_next(juror)
            case = db.session.get(Case, assignment.case_id)
            decision = "remove" if case.post.external_id in ("p0", "p2") else "keep"
            voting.cast_vote(case.id, juror, decision, "harassment" if decision == "remove" else None)
    counts = sweeper.sweep()
    assert counts["reliability_reestimated"] == 1
    run = db.session.scalar(select(ReliabilityRun))
    assert run.votes == 12 and run.jurors == 3 and run.verdicts == 4
    # The three jurors agreed on every case: their estimated accuracy rises above the prior.
    rows = db.session.scalars(select(JurorReliability)).all()
    assert len(rows) == 3 and all(row.sensitivity > 0.75 and row.specificity > 0.75 for row in rows)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "reliability_estimated"))
    # Not due again until two more verdicts.
    assert sweeper.sweep()["reliability_reestimated"] == 0
    assert math.isfinite(run.prior_slope)
    # Two more verdicts, but the last run is minutes old: it waits for REESTIMATE_MIN_INTERVAL_MINUTES.
    api.posts(*[post_payload(f"q{i}", "Nice weather today") for i in range(2)])
    api.reports(*[report_payload(f"s{i}", f"q{i}") for i in range(2)])
    for _ in range(2):
        for juror in jurors[:3]:
            voting.cast_vote(dealing.deal_next(juror).case_id, juror, "keep")
    assert juror_reliability.verdicts_since_last_run() == 2
    assert sweeper.sweep()["reliability_reestimated"] == 0
    run.created_at = utcnow() - timedelta(minutes=11)
    db.session.commit()
    assert sweeper.sweep()["reliability_reestimated"] == 1


def test_policy_settings_are_checked():
    for bad in ({"verdict_method": "vibes"}, {"confidence": 1.0}, {"confidence": 0.5},
                {"min_votes": 0}, {"min_votes": 5, "max_panel_size": 4}, {"max_panel_size": 30},
                {"reestimate_every_verdicts": 0}):
        with pytest.raises(PolicyError):
            publish_policy(bad, reason="test", actor="test")


def test_lead_pages_explain_a_verdict_and_show_agreement(case, jurors, make_user, client, auth):
    for juror in jurors[:3]:
        vote(juror, "remove")
    verdict = db.session.scalar(select(Verdict))
    make_user("lead", role="lead")
    auth.login("juror0")
    assert client.get(f"/lead/verdicts/{verdict.id}/why").status_code == 403
    assert client.get("/lead/agreement").status_code == 403
    auth.logout()
    auth.login("lead")
    listing = client.get("/lead/verdicts").get_data(as_text=True)
    assert f"/lead/verdicts/{verdict.id}/why" in listing and "0.964" in listing
    page = client.get(f"/lead/verdicts/{verdict.id}/why").get_data(as_text=True)
    assert juror_reliability.pseudonym(jurors[0].id) in page and "0.750" in page and "0.9643" in page
    assert "juror0" not in page  # pseudonyms only
    assert client.get("/lead/verdicts/999/why").status_code == 404
    overview = client.get("/lead/agreement").get_data(as_text=True)
    assert "Per rule" in overview and juror_reliability.pseudonym(jurors[1].id) in overview and "100.0 %" in overview
    assert "at most once every 10 minutes" in " ".join(overview.split())
    # Queue a re-estimation by hand (jobs run inline here).
    response = client.post("/lead/reliability/reestimate")
    assert response.status_code == 302
    assert db.session.scalar(select(ReliabilityRun)) is not None


def test_the_reestimate_button_needs_its_csrf_token(app, make_user):
    make_user("lead", role="lead")
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    login = {"username": "lead", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=login).status_code == 302
    assert client.post("/lead/reliability/reestimate").status_code == 400
    assert db.session.scalar(select(ReliabilityRun)) is None


def test_agreement_by_hand(api, jurors, make_user):
    use_policy(verdict_method="quorum", panel_size=2, widened_panel_size=2, supermajority=0.6)
    # Four cases with two votes each: (remove, remove), (keep, keep), (remove, remove), (remove, keep).
    # Pairable values n = 8, five removes and three keeps. Only the last case disagrees, giving
    # one remove-keep coincidence each way: D_o = 2/8. D_e = 2 * 5 * 3 / (8 * 7) = 30/56.
    # alpha = 1 - (2/8) / (30/56) = 1 - 7/15 = 8/15 = 0.5333...
    api.posts(*[post_payload(f"p{i}") for i in range(4)])
    api.reports(*[report_payload(f"r{i}", f"p{i}", reason="spam") for i in range(4)])
    panels = {"p0": ("remove", "remove"), "p1": ("keep", "keep"), "p2": ("remove", "remove"),
              "p3": ("remove", "keep")}
    seen: dict[str, int] = {}
    for juror in jurors:
        while (assignment := dealing.deal_next(juror)) is not None:
            case = db.session.get(Case, assignment.case_id)
            pid = case.post.external_id
            decision = panels[pid][seen.get(pid, 0)]
            seen[pid] = seen.get(pid, 0) + 1
            voting.cast_vote(case.id, juror, decision, "spam" if decision == "remove" else None)
    assert sum(seen.values()) == 8
    # The 1-1 split escalates; a lead removes it.
    split = db.session.scalar(select(Case).where(Case.state == "escalated"))
    verdicts.decide_escalation(split.id, make_user("lead", role="lead"), "remove", "spam", "spam link")
    rows = {row.group: row for row in agreement.alpha_by_rule()}
    assert rows["all"].alpha == pytest.approx(8 / 15) and rows["all"].cases == 4
    # Kept cases fall under the reports' rule (spam), removed ones under the verdict's (spam too).
    assert rows["spam"].cases == 4
    weeks = agreement.alpha_by_week()
    assert len(weeks) == 1 and weeks[0].alpha == pytest.approx(8 / 15)
    assert agreement.nominal_alpha([(2, 0), (3, 0)]) is None  # all alike: undefined, not 1
    assert agreement.nominal_alpha([]) is None
    everyone = agreement.juror_agreement()
    assert sum(row.votes for row in everyone) == 8
    assert sum(row.agreed for row in everyone) == 7  # only the keep vote on p3 lost
    assert agreement.agreement_of(jurors[5].id).rate in (None, 1.0)


def test_gold_answers_are_fixed_labels_in_the_reestimate(api, jurors, make_user):
    """A juror who votes against a gold answer loses estimated accuracy: gold labels are known, not guessed."""
    from models import GoldAnswer, User
    from triage import gold

    api.posts(post_payload("p1", "I will kill you and your family"))
    api.reports(report_payload("r1", "p1"))
    for juror in jurors[:3]:
        vote(juror, "remove")
    source = db.session.scalar(select(Case).where(Case.state != "gold"))
    lead = make_user("lead1", role="lead")
    gold_case = gold.promote(source.id, lead)
    assert db.session.get(GoldAnswer, gold_case.id).outcome == "remove"
    assert juror_reliability.known_labels(db.session) == {gold_case.id: 1}
    # A juror in training is dealt gold cases only, and gets this one wrong.
    trainee = jurors[4]
    db.session.get(User, trainee.id).state = "paused"
    db.session.commit()
    assignment = dealing.deal_next(trainee)
    assert assignment is not None and assignment.case_id == gold_case.id
    voting.cast_vote(gold_case.id, trainee, "keep", None)
    run = juror_reliability.reestimate()
    assert run.known == 1
    row = db.session.scalar(select(JurorReliability).where(JurorReliability.juror_id == trainee.id))
    # The prior starts everyone at 0.75; one known miss on a violating post pulls sensitivity below it.
    assert row.sensitivity < 0.75


def test_reported_and_flagged_cases_each_take_their_own_calibration(api, weighted, jurors, client, make_user, auth):
    """A score means one thing on a post users reported and another on a post only the model flagged:
    each case's prior comes from its group's calibration, and the lead's page says which."""
    api.posts(post_payload("p1", "You are all idiots"), post_payload("p2", "You are all idiots too"))
    api.reports(report_payload("r1", "p1"))
    post2 = db.session.scalar(select(Post.id).where(Post.external_id == "p2"))
    with transaction.atomic():
        cases.open_or_refresh([post2], "model", current_policy(), actor="test")
    reported = db.session.scalar(select(Case).join(Post).where(Post.external_id == "p1"))
    flagged = db.session.scalar(select(Case).join(Post).where(Post.external_id == "p2"))
    assert (reported.report_count, flagged.report_count) == (1, 0)
    features, _ = juror_reliability.case_features([reported.id, flagged.id])

    def prior(case):
        return juror_reliability.case_posterior(case).weights

    # A run from before the split (no reported pair): one calibration stands for both.
    db.session.add(ReliabilityRun(votes=0, cases=0, jurors=0, known=0, verdicts=0, iterations=0, log_likelihood=0.0,
                                  prior_intercept=-2.0, prior_slope=1.0))
    db.session.commit()
    for case in (reported, flagged):
        expected = -2.0 + (features.get(case.id) or 0.0)
        assert prior(case)["prior_log_odds"] == pytest.approx(expected, abs=1e-4)
    db.session.add(ReliabilityRun(votes=0, cases=0, jurors=0, known=0, verdicts=0, iterations=0, log_likelihood=0.0,
                                  prior_intercept=-2.0, prior_slope=1.0, prior_reported_intercept=1.5,
                                  prior_reported_slope=0.0))
    db.session.commit()
    assert prior(reported)["prior_log_odds"] == pytest.approx(1.5, abs=1e-4)
    assert prior(reported)["calibration"] == "reported" and prior(flagged)["calibration"] == "flagged"
    assert prior(flagged)["prior_log_odds"] == pytest.approx(-2.0 + (features.get(flagged.id) or 0.0), abs=1e-4)

    # Jurors remove the reported case and keep the flagged one; the re-estimation fits and stores both pairs.
    for juror in jurors:
        for _ in range(2):
            assignment = dealing.deal_next(juror)
            if assignment is not None:
                removes = assignment.case_id == reported.id
                voting.cast_vote(assignment.case_id, juror, "remove" if removes else "keep",
                                 "harassment" if removes else None)
    run = juror_reliability.reestimate()
    assert run.prior_reported_intercept is not None and run.prior_reported_slope is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "reliability_estimated"))
    assert set(event.payload) >= {"prior", "prior_reported"}
    verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == reported.id))
    make_user("lead1", role="lead")
    auth.login("lead1")
    page = client.get(f"/lead/verdicts/{verdict.id}/why").get_data(as_text=True)
    assert "reported post" in page
