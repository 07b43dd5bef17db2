"""The strike ladder as part of the versioned policy, and the removals its what-if replays, on both databases."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Account, Appeal, Case, Policy, Post, Strike, Verdict, db, utcnow
from tests.conftest import PASSWORD
from triage import strikes
from triage.policy import DEFAULT_SETTINGS, PolicyError, current_policy, publish_policy


def test_the_default_policy_carries_the_default_ladder(app):
    policy = current_policy()
    assert policy.settings["strikes"] == strikes.DEFAULT_STRIKES
    assert policy.strikes == strikes.StrikePolicy.from_settings(strikes.DEFAULT_STRIKES)
    assert policy.strikes.window_days == 90


def test_a_partial_strikes_group_is_completed_and_a_bad_one_refused(app):
    publish_policy({"strikes": {"window_days": 30, "weights": {"spam": 0.5}}}, reason="gentler on spam", actor="t")
    db.session.commit()
    policy = current_policy(fresh=True)
    assert policy.strikes.window_days == 30 and policy.strikes.weight("spam") == 0.5
    assert policy.settings["strikes"]["ladder"] == strikes.DEFAULT_STRIKES["ladder"]
    with pytest.raises(PolicyError, match=r"strikes.ladder\[1\].at must be over the step before it"):
        publish_policy({"strikes": {"ladder": [{"at": 3, "action": "warn"}, {"at": 1, "action": "ban"}]}},
                       reason="x", actor="t")


def test_a_version_from_before_the_ladder_reads_the_defaults(app):
    old = {k: v for k, v in DEFAULT_SETTINGS.items() if k != "strikes"}
    db.session.add(Policy(version=2, settings=old, reason="older release"))
    db.session.commit()
    policy = current_policy(fresh=True)
    assert policy.version == 2 and policy.strikes.window_days == 90
    from jury.leads import policy_versions

    assert policy_versions.editable_settings()["strikes"] == strikes.DEFAULT_STRIKES


def test_leads_edit_the_ladder_on_the_policy_page(app, client, make_user):
    make_user("lead", role="lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    page = client.get("/lead/policy").get_data(as_text=True)
    assert 'name="s:strikes.window_days"' in page and 'name="s:strikes.weights.violence_threat"' in page
    assert 'name="s:strikes.ladder"' in page
    assert 'name="s:strikes.uncertain_below"' in page and 'name="s:strikes.uncertain_weight"' in page
    assert "Uncertain removals" in page
    for field, value, message in (("s:strikes.ladder", '[{"at": 2, "action": "suspend"}]', "strikes.ladder[0].days"),
                                  ("s:strikes.uncertain_below", "95", "strikes.uncertain_below must be from 0 to 1")):
        bad = client.post("/lead/policy", data={"reason": "x", field: value})
        assert bad.status_code == 400 and message in bad.get_data(as_text=True)
    assert current_policy(fresh=True).version == 1  # nothing published
    ladder = '[{"at": 2, "action": "warn"}, {"at": 4, "action": "ban"}]'
    good = client.post("/lead/policy", data={"reason": "two steps, no suspension on a coin flip",
                                             "s:strikes.ladder": ladder, "s:strikes.weights.spam": "0.25",
                                             "s:strikes.uncertain_below": "0.95", "s:strikes.uncertain_weight": "1"})
    assert good.status_code in (302, 303)
    policy = current_policy(fresh=True)
    assert [s.measure.kind for s in policy.strikes.ladder] == ["warn", "ban"]
    assert policy.strikes.weight("spam") == 0.25
    assert (policy.strikes.uncertain_below, policy.strikes.uncertain_weight) == (0.95, 1.0)
    assert policy.strikes.weight("violence_threat", 0.9) == 1.0


def _removal(external_id: str, author: str, rule: str | None, days_ago: float, *, outcome: str = "remove",
             origin: str = "reported", appeal: str | None = None, method: str = "quorum",
             posterior: float | None = None) -> None:
    decided = utcnow() - timedelta(days=days_ago)
    post = Post(external_id=external_id, author_id=author, text="t", content_hash="h", received_at=decided)
    db.session.add(post)
    db.session.flush()
    case = Case(post_id=post.id, origin=origin, state="decided", panel_size=3, open_seats=0, policy_version=1,
                sla_deadline=decided, decided_at=decided)
    db.session.add(case)
    db.session.flush()
    verdict = Verdict(case_id=case.id, outcome=outcome, rule=rule, tally={}, method=method, policy_version=1,
                      statement="", decided_at=decided, posterior=posterior)
    db.session.add(verdict)
    db.session.flush()
    if appeal:
        db.session.add(Appeal(verdict_id=verdict.id, case_id=case.id, appellant_account_id=author,
                              appellant_role="author", statement="s", channel="link", state=appeal))


def test_the_what_if_replays_upheld_first_instance_removals_against_the_ladder_in_force(app):
    for n in range(3):
        _removal(f"s{n}", "spammer", "spam", 40 - 15 * n)  # 40 (before the period), 25 and 10 days ago
    _removal("t1", "threat", "violence_threat", 5)
    _removal("k1", "kept", "spam", 5, outcome="keep")
    _removal("g1", "gold", "spam", 5, origin="gold")
    _removal("o1", "overturned", "spam", 5, appeal="overturned")
    _removal("u1", "upheld", "harassment", 5, appeal="upheld")
    _removal("x1", "long-ago", "spam", 400)
    db.session.commit()
    found = strikes.removals_between(utcnow() - timedelta(days=120), utcnow())
    assert [r.account_id for r in found] == ["spammer", "spammer", "spammer", "threat", "upheld"]
    candidate = strikes.StrikePolicy.from_settings({"ladder": [{"at": 1, "action": "suspend", "days": 1}]})
    result = strikes.compare(current_policy().strikes, candidate, utcnow())
    # In force: the spammer is warned at its second removal and suspended at its third, both in the
    # period; the threat is suspended at once; the upheld harassment warned.
    assert result["in_force"] == {"warned": 2, "suspended": 2, "banned": 0, "measures": 4, "accounts": 3}
    # The candidate suspends at every removal (each one-day suspension is over by the next).
    assert result["candidate"] == {"warned": 0, "suspended": 3, "banned": 0, "measures": 4, "accounts": 3}
    assert db.session.scalar(select(Policy.version).order_by(Policy.version.desc())) == 1


def test_the_what_if_replays_cluster_members_and_confirms_and_weighs_uncertain_removals(app):
    """Every removal that strikes is replayed: a cluster member's and a confirmed copy's too, not only
    the reported and flagged posts'. A candidate that lets uncertain removals weigh 1 warns where the
    ladder in force suspends, except for a lead's decision."""
    _removal("m1", "copier", "violence_threat", 5, origin="cluster", method="cluster", posterior=0.91)
    _removal("c1", "confirmed", "violence_threat", 5, origin="confirm", method="weighted", posterior=0.97)
    _removal("l1", "by-lead", "violence_threat", 5, method="lead", posterior=0.6)
    # A member of a cluster whose verdict a lead reversed: restored, its strike withdrawn, not replayed.
    _removal("m2", "restored", "violence_threat", 5, origin="cluster", method="cluster", posterior=0.99)
    restored = db.session.scalar(select(Verdict).order_by(Verdict.id.desc()))
    account = Account(external_id="restored")
    db.session.add(account)
    db.session.flush()
    db.session.add(Strike(account_id=account.id, verdict_id=restored.id, rule="violence_threat", weight=3.0,
                          created_at=restored.decided_at, expires_at=restored.decided_at + timedelta(days=90),
                          withdrawn_at=utcnow(), withdrawn_reason="the cluster's verdict was reversed"))
    db.session.commit()
    found = strikes.removals_between(utcnow() - timedelta(days=120), utcnow())
    assert [(r.account_id, r.confidence) for r in found] == [("copier", 0.91), ("confirmed", 0.97), ("by-lead", None)]
    candidate = strikes.StrikePolicy.from_settings({"uncertain_below": 0.95, "uncertain_weight": 1})
    result = strikes.compare(current_policy().strikes, candidate, utcnow())
    assert result["in_force"] == {"warned": 0, "suspended": 3, "banned": 0, "measures": 3, "accounts": 3}
    assert result["candidate"] == {"warned": 1, "suspended": 2, "banned": 0, "measures": 3, "accounts": 3}
