"""A case's priority may weigh each report by its reporter's record (a policy weight, off by default),
on both databases; the account page shows what one report of theirs counts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jury.leads import accounts, policy_versions
from models import Case, Policy, Post, Report, Verdict, db, utcnow
from tests.conftest import post_payload, report_payload
from triage import reporters
from triage.policy import DEFAULT_SETTINGS, PolicyError, current_policy, publish_policy


def history(reporter: str, outcome: str, count: int) -> None:
    """`count` earlier reports by `reporter`, each on a post the jury decided with `outcome`."""
    at = utcnow() - timedelta(days=3)
    for n in range(count):
        post = Post(external_id=f"old-{reporter}-{n}", author_id="someone", text="old", content_hash="h",
                    received_at=at)
        db.session.add(post)
        db.session.flush()
        db.session.add(Report(external_id=f"old-r-{reporter}-{n}", post_id=post.id, reporter_id=reporter,
                              reason="harassment", received_at=at))
        case = Case(post_id=post.id, origin="reported", state="decided", panel_size=3, open_seats=0,
                    policy_version=1, opened_at=at, sla_deadline=at + timedelta(hours=24), decided_at=at)
        db.session.add(case)
        db.session.flush()
        db.session.add(Verdict(case_id=case.id, outcome=outcome, rule="harassment" if outcome == "remove" else None,
                               tally={outcome: 3}, method="quorum", policy_version=1, statement="s", decided_at=at))
    db.session.commit()


def base_of(pid: str) -> float:
    db.session.expire_all()
    return db.session.scalar(select(Case.base_priority).join(Post, Post.id == Case.post_id)
                             .where(Post.external_id == pid))


def report_new(api, pid: str, reporter: str) -> None:
    answer = api.reports(report_payload(f"{pid}-r", pid, reporter=reporter,
                                        post=post_payload(pid, "Is the harbour bridge open today?")))
    assert answer.status_code == 202, answer.get_data(as_text=True)


def weigh_reporters(weight: float) -> None:
    publish_policy({"priority_weights": {"reporter_accuracy": weight}}, reason="weigh reporters", actor="t")
    db.session.commit()
    current_policy(fresh=True)


def test_the_weight_is_off_by_default_so_every_reporter_counts_as_one(api):
    history("sharp", "remove", 4)
    history("careless", "keep", 4)
    assert current_policy().settings["priority_weights"]["reporter_accuracy"] == 0.0
    report_new(api, "by-sharp", "sharp")
    report_new(api, "by-careless", "careless")
    report_new(api, "by-newcomer", "newcomer")
    assert base_of("by-sharp") == base_of("by-careless") == base_of("by-newcomer")


def test_with_the_weight_on_an_upheld_reporter_raises_a_case_more_than_one_the_jury_keeps_overruling(api):
    history("sharp", "remove", 4)
    history("careless", "keep", 4)
    weigh_reporters(1.0)
    report_new(api, "by-sharp", "sharp")
    report_new(api, "by-careless", "careless")
    report_new(api, "by-newcomer", "newcomer")
    sharp, careless, newcomer = base_of("by-sharp"), base_of("by-careless"), base_of("by-newcomer")
    assert sharp > newcomer > careless
    # The record behind it: 5/6 and 1/6 (one upheld and one rejected report assumed), a newcomer 1/2.
    assert reporters.record("sharp").credibility == pytest.approx(5 / 6)
    assert reporters.record("careless").credibility == pytest.approx(1 / 6)
    # Half the weight: halfway between counting as one and counting by credibility.
    assert reporters.Record(4, 4, 0).weight(0.5) == pytest.approx(0.5 + 0.5 / 6)


def test_a_later_report_by_a_sharp_reporter_lifts_an_open_case_more(api):
    history("sharp", "remove", 6)
    history("careless", "keep", 6)
    weigh_reporters(1.0)
    report_new(api, "p1", "careless")
    report_new(api, "p2", "careless")
    before = base_of("p1")
    assert api.reports(report_payload("p1-second", "p1", reporter="sharp")).status_code == 202
    assert api.reports(report_payload("p2-second", "p2", reporter="careless-too")).status_code == 202
    assert base_of("p1") > base_of("p2") > before


def test_the_account_page_says_what_a_report_of_theirs_counts(api):
    history("sharp", "remove", 4)
    assert accounts.reporter_record("sharp").priority_weight == 1.0
    weigh_reporters(0.5)
    record = accounts.reporter_record("sharp")
    assert record.accuracy_weight == 0.5 and record.priority_weight == pytest.approx(0.5 + 0.5 * 5 / 6)


def test_the_weight_is_checked_and_a_policy_from_before_it_reads_zero(app):
    with pytest.raises(PolicyError, match="reporter_accuracy must be between 0 and 1"):
        publish_policy({"priority_weights": {"reporter_accuracy": 1.5}}, reason="x", actor="t")
    with pytest.raises(PolicyError, match="priority_weights.age must be a number of at least 0"):
        publish_policy({"priority_weights": {"age": -1}}, reason="x", actor="t")
    with pytest.raises(PolicyError, match="unknown priority weight 'reporter'"):
        publish_policy({"priority_weights": {"reporter": 1}}, reason="x", actor="t")
    db.session.rollback()
    old = {**DEFAULT_SETTINGS, "priority_weights": {"severity": 10.0, "reports": 2.0, "age": 5.0}}
    db.session.add(Policy(version=7, settings=old, reason="older release"))
    db.session.commit()
    assert current_policy(fresh=True).version == 7
    assert policy_versions.editable_settings()["priority_weights"]["reporter_accuracy"] == 0.0
