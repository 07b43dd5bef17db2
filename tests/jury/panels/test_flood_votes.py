"""Votes cost more in a flood: while more cases are open than the jury decided lately, a weighted panel that
is nearly sure decides instead of asking one more juror, and its statement says why (triage.flood)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jury.panels import juror_reliability, voting
from models import Case, JurorReliability, Verdict, db
from tests.conftest import post_payload, report_payload
from triage import dealing, flood
from triage.policy import PolicyError, PolicyInForce, current_policy, publish_policy, validate_settings


def use_policy(**settings):
    publish_policy({**current_policy().settings, **settings}, reason="test", actor="test")
    db.session.commit()


@pytest.fixture
def jurors(make_user):
    jurors = [make_user(f"juror{i}", network_account_id=f"net-juror-{i}") for i in range(3)]
    # Jurors right three times in four: two agreeing votes leave a case 90 % sure, under the 95 % it needs.
    for juror in jurors:
        db.session.add(JurorReliability(juror_id=juror.id, sensitivity=0.75, specificity=0.75, votes=50))
    db.session.commit()
    return jurors


def two_removals(api, jurors):
    """Report one post; two jurors vote to remove it. The second vote's outcome and the case."""
    api.posts(post_payload("p1", "post p1"))
    api.reports(report_payload("r-p1", "p1"))
    outcome = None
    for juror in jurors[:2]:
        assignment = dealing.deal_next(juror)
        assert assignment is not None, f"{juror.username} was dealt nothing"
        outcome = voting.cast_vote(assignment.case_id, juror, "remove", "harassment").outcome
    return outcome, db.session.get(Case, assignment.case_id)


def test_in_a_flood_a_nearly_sure_panel_decides_instead_of_asking_one_more_juror(api, jurors):
    # The one open case is more than the jury decided in the last day (nothing): a flood, for this test.
    use_policy(verdict_method="weighted", flood={"enabled": True, "vote_cost": 0.05, "queue_hours": 24,
                                                 "min_open_cases": 1})
    outcome, case = two_removals(api, jurors)
    assert outcome == "remove" and case.panel_size == 2
    verdict = db.session.scalar(select(Verdict))
    assert verdict.method == "weighted" and 0.85 < verdict.posterior < 0.95
    assert "decided at its leaning, an estimated 90% likely to be right" in verdict.statement
    assert "more cases were waiting than the jury could read" in verdict.statement


def test_without_a_flood_the_same_panel_asks_one_more_juror(api, jurors):
    use_policy(verdict_method="weighted", flood={"enabled": True, "vote_cost": 0.05, "queue_hours": 24,
                                                 "min_open_cases": 200})  # one open case is no flood
    outcome, case = two_removals(api, jurors)
    assert outcome == "widen" and case.panel_size == 3
    assert db.session.scalar(select(Verdict)) is None


def test_the_flood_rule_switched_off_asks_one_more_juror_however_long_the_queue(api, jurors):
    use_policy(verdict_method="weighted", flood={"enabled": False, "min_open_cases": 0})
    assert two_removals(api, jurors)[0] == "widen"


def test_a_queue_the_jury_keeps_up_with_is_no_flood():
    queue = flood.Queue(open_cases=300, decided=400, hours=24, read_at=None)
    assert not queue.is_flood(min_open_cases=200)
    assert flood.Queue(open_cases=300, decided=299, hours=24, read_at=None).is_flood(min_open_cases=200)
    assert not flood.Queue(open_cases=150, decided=0, hours=24, read_at=None).is_flood(min_open_cases=200)


def test_the_queue_is_read_once_a_minute_not_on_every_vote(api, app):
    first = flood.queue(24)
    api.posts(post_payload("p1", "post p1"))
    api.reports(report_payload("r-p1", "p1"))
    assert flood.queue(24) is first  # the same minute: the cached reading
    app.extensions[flood._CACHE].clear()
    assert flood.queue(24).open_cases == first.open_cases + 1


def test_both_prices_plans_are_kept_so_a_queue_in_and_out_of_flood_builds_each_once(api, jurors):
    usual = juror_reliability.panel_plans(1, 0.024, 0.25, 2, 12)
    flooded = juror_reliability.panel_plans(1, 0.05, 0.25, 2, 12)
    assert usual[0].vote_cost == 0.024 and flooded[0].vote_cost == 0.05
    assert juror_reliability.panel_plans(1, 0.024, 0.25, 2, 12) is usual
    assert juror_reliability.panel_plans(1, 0.05, 0.25, 2, 12) is flooded


@pytest.mark.parametrize(("flood_group", "message"), [
    ({"enabled": True, "vote_cost": 0.01}, r"flood.vote_cost must be at least vote_cost \(0.024\)"),
    ({"vote_cost": 0.5}, "flood.vote_cost must be at least 0 and under 0.5"),
    ({"vote_cost": "high"}, "flood.vote_cost must be a number"),
    ({"queue_hours": 0}, "flood.queue_hours must be over 0"),
    ({"queue_hours": 1000}, "at most 720"),
    ({"min_open_cases": -1}, "flood.min_open_cases must be a whole number of at least 0"),
    ({"min_open_cases": 2.5}, "flood.min_open_cases must be a whole number"),
    ({"enabled": "yes"}, "flood.enabled must be true or false"),
    ({"cases": 3}, "flood may hold only enabled, vote_cost, queue_hours and min_open_cases"),
    ([], "flood may hold only"),
])
def test_bad_flood_settings_are_refused_with_the_setting_named(flood_group, message):
    with pytest.raises(PolicyError, match=message):
        validate_settings({"flood": flood_group})


def test_the_flood_rule_is_on_by_default_and_older_versions_keep_their_fixed_price():
    defaults = PolicyInForce(1, validate_settings({}))
    assert defaults.flood == {"enabled": True, "vote_cost": 0.035, "queue_hours": 24, "min_open_cases": 200}
    assert defaults.flood["vote_cost"] > defaults.vote_cost
    off = {**defaults.flood, "enabled": False}
    assert flood.vote_cost(off, defaults.vote_cost) == (defaults.vote_cost, False)
    # Switched off, its price is not checked against vote_cost.
    assert validate_settings({"flood": {"enabled": False, "vote_cost": 0}})["flood"]["vote_cost"] == 0
    older = PolicyInForce(1, {"verdict_method": "weighted", "vote_cost": 0.024})
    assert older.flood["enabled"] is False
