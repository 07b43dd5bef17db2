"""Removals strike their authors' accounts; the ladder's warnings, suspensions and their lifting reach the network."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select, update

from audit import figures
from jury.appeals import review as appeals
from jury.demo import sandbox_network as sandbox
from jury.panels import verdicts, voting
from jury.tasks import sweeper
from models import Account, Action, Appeal, AuditEvent, Case, Post, SandboxAction, Strike, Verdict, db, utcnow
from models.errors import Conflict
from tests.conftest import post_payload, report_payload
from triage import account_measures, appeal_links, dealing, transaction
from triage.exclusions import explain
from triage.policy import current_policy, publish_policy


def remove(api, jurors, pid, rule="spam", author="author-1"):
    """A post of `author` reported and removed by a panel of three; returns the verdict."""
    text = f"Buy cheap followers now, offer {pid}"
    sandbox.add_posts([{"id": pid, "author_id": author, "text": text}])
    api.posts(post_payload(pid, text, author=author))
    api.reports(report_payload(f"r-{pid}", pid, reason=rule))
    for juror in jurors:
        assignment = dealing.deal_next(juror)
        voting.cast_vote(assignment.case_id, juror, "remove", rule)
    return db.session.scalar(select(Verdict).order_by(Verdict.id.desc()))


def received(kind):
    db.session.expire_all()
    return list(db.session.scalars(select(SandboxAction).where(SandboxAction.type == kind).order_by(SandboxAction.id)))


def account(external_id="author-1"):
    db.session.expire_all()
    return db.session.scalar(select(Account).where(Account.external_id == external_id))


def test_the_third_removal_suspends_the_author_on_the_network(live_server, api, jurors):
    first = remove(api, jurors[:3], "p1")
    [warning] = received("warn_account")
    assert warning.account_id == "author-1" and warning.payload["strike_count"] == 1
    assert warning.payload["verdict_ids"] == [str(first.id)]
    assert "warning" in warning.payload["statement_of_reasons"]
    assert account().state == "warned"
    remove(api, jurors[3:6], "p2")
    assert len(received("warn_account")) == 2 and received("suspend_account") == []
    third = remove(api, jurors[6:9], "p3")
    [suspension] = received("suspend_account")
    payload = suspension.payload
    assert payload["duration_days"] == 7 and payload["strike_count"] == 3 and payload["post_id"] is None
    assert payload["verdict_ids"][-1] == str(third.id) and len(payload["verdict_ids"]) == 3
    statement = payload["statement_of_reasons"]
    for words in ("suspended for 7 days", "post p1", "post p3", "under the rule", "appeal", "Article 21"):
        assert words in statement
    # The appeal link names the removal that crossed the threshold, signed like a post's.
    token = urlsplit(payload["appeal_url"]).path.rsplit("/", 1)[1]
    assert appeal_links.read_token(token) == third.id
    held = account()
    assert held.state == "suspended" and held.suspended_until > utcnow() + timedelta(days=6)
    assert db.session.scalar(select(func.count()).select_from(Strike)) == 3
    action = db.session.scalar(select(Action).where(Action.type == "suspend_account"))
    assert (action.state, action.duration_days, action.strike_count) == ("sent", 7, 3)
    # The network shows its author as suspended beside each of their posts.
    page = requests.get(live_server.url + "/sandbox/", timeout=10).text
    assert page.count('<code>author-1</code> <span class="account-state">(suspended)</span>') == 3


def test_a_follow_up_or_strike_run_twice_adds_one_strike_and_one_measure(app, api, jurors):
    verdict = remove(api, jurors[:3], "p1", rule="violence_threat")
    assert verdicts.follow_up(verdict.id) is False  # the job again: already done
    case = db.session.get(Case, verdict.case_id)
    with transaction.atomic():
        from_again = account_measures.strike_for_removal(verdict, case, db.session.get(Post, case.post_id))
    assert from_again is None
    assert db.session.scalar(select(func.count()).select_from(Strike)) == 1
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.type == "suspend_account")) == 1
    assert account().state == "suspended"


def test_an_uncertain_removal_warns_where_a_sure_one_suspends(app, api, jurors):
    """With `strikes.uncertain_below` set, a panel's removal whose confidence falls short of it weighs
    at most `uncertain_weight`: a violent threat's removal warns instead of suspending. The threshold
    reads the verdict's own posterior: the same unanimous panel is sure enough under a lower bound."""
    publish_policy({"strikes": {"uncertain_below": 1.0, "uncertain_weight": 1.0}}, reason="t", actor="t")
    db.session.commit()
    unsure = remove(api, jurors[:3], "p1", rule="violence_threat", author="author-1")
    assert 0.5 < unsure.posterior < 1.0
    assert account("author-1").state == "warned"
    assert db.session.scalar(select(Strike.weight).where(Strike.verdict_id == unsure.id)) == 1.0
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "strike_added"))
    assert event.payload["weight"] == 1.0 and event.payload["uncertain"] is True
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.type == "suspend_account")) == 0
    publish_policy({"strikes": {"uncertain_below": unsure.posterior / 2}}, reason="t", actor="t")
    db.session.commit()
    sure = remove(api, jurors[3:6], "p2", rule="violence_threat", author="author-2")
    assert sure.posterior > unsure.posterior / 2
    assert account("author-2").state == "suspended"
    assert db.session.scalar(select(Strike.weight).where(Strike.verdict_id == sure.id)) == 3.0


def test_a_kept_post_strikes_nobody(app, api, jurors):
    api.posts(post_payload("p1", "hello", author="author-1"))
    api.reports(report_payload("r1", "p1", reason="spam"))
    for juror in jurors[:3]:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "keep", None)
    assert db.session.scalar(select(func.count()).select_from(Strike)) == 0
    assert db.session.scalar(select(func.count()).select_from(Action).where(
        Action.type.in_(("warn_account", "suspend_account")))) == 0


def test_the_sweeper_lifts_an_ended_suspension_once(live_server, api, jurors):
    remove(api, jurors[:3], "p1", rule="violence_threat")
    assert account().state == "suspended"
    db.session.execute(update(Account).values(suspended_until=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert sweeper.sweep()["lifted_suspensions"] == 1
    assert sweeper.sweep()["lifted_suspensions"] == 0
    [lifted] = received("unsuspend_account")
    assert lifted.account_id == "author-1" and "ended" in lifted.payload["statement_of_reasons"]
    held = account()
    assert held.state == "active" and held.suspended_until is None


def test_an_overturned_removal_withdraws_its_strike_and_lifts_the_suspension(live_server, api, jurors, make_user,
                                                                            lead):
    verdict = remove(api, jurors[:3], "p1", rule="violence_threat")
    [suspension] = received("suspend_account")
    token = urlsplit(suspension.payload["appeal_url"]).path.rsplit("/", 1)[1]
    appeal = appeals.file_appeal(appeal_links.read_token(token), "author-1", "It was a film quote.",
                                 channel="link", actor="appellant:link")
    # The link is used: a second appeal with it is refused.
    with pytest.raises(Conflict):
        appeals.file_appeal(appeal_links.read_token(token), "author-1", "Again.", channel="link", actor="t")
    panel = jurors[3:8]
    for juror in panel:
        voting.cast_vote(dealing.deal_next(juror).case_id, juror, "keep", None)
    appeals.sign_off(appeal.id, lead, True, "Context shows a film quote.")
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "overturned"
    strike = db.session.scalar(select(Strike).where(Strike.verdict_id == verdict.id))
    assert strike.withdrawn_at is not None
    [lifted] = received("unsuspend_account")
    assert "overturned on appeal" in lifted.payload["statement_of_reasons"]
    assert account().state == "active"


def test_an_altered_measure_link_is_refused(live_server, api, jurors):
    remove(api, jurors[:3], "p1", rule="violence_threat")
    [suspension] = received("suspend_account")
    token = urlsplit(suspension.payload["appeal_url"]).path.rsplit("/", 1)[1]
    with pytest.raises(appeal_links.LinkInvalid):
        appeal_links.read_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_jurors_behind_the_strikes_never_sit_on_the_appeal(app, api, jurors):
    remove(api, jurors[:3], "p1")
    verdict = remove(api, jurors[3:6], "p2")
    appeal = appeals.file_appeal(verdict.id, "author-1", "Not spam.", channel="api", actor="network")
    case = db.session.get(Case, appeal.appeal_case_id)
    # jurors[0..2] removed the author's other post: their strike is behind the measure too.
    for juror in jurors[:6]:
        assert dealing.deal_next(juror) is None
    assert "struck_author" in {e.code for e in explain(case, jurors[0], current_policy())}
    assert dealing.deal_next(jurors[6]).case_id == case.id


def test_reports_count_suspended_accounts_and_the_time_to_suspend(live_server, api, jurors):
    from audit import exports, figures, report
    from jury.leads import queue_health

    remove(api, jurors[:3], "p1", rule="violence_threat")
    start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1)
    counted = figures.account_measures(db.session, start, end)
    assert (counted["accounts_warned"], counted["accounts_suspended"], counted["accounts_banned"]) == (0, 1, 0)
    assert 0 <= counted["median_hours_to_account_action"] < 1 and counted["p90_hours_to_account_action"] < 1
    assert queue_health.health().accounts["accounts_suspended"] == 1
    html = report.render_html(db.session, start, end)
    assert 'id="accounts-suspended">1<' in html
    statements = exports.dsa_statements(db.session, start, end)
    [measure] = [s for s in statements if s.get("decision_account")]
    assert measure["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert measure["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"
    assert "suspended for 7 days" in measure["decision_facts"] and "p1" not in measure["decision_facts"]


def test_an_overturned_removal_steps_a_ban_down_to_the_suspension_the_rest_call_for(live_server, api, jurors,
                                                                                     make_user, lead):
    publish_policy({"appeal_panel_size": 1, "strikes": {"ladder": [
        {"at": 1, "action": "warn"}, {"at": 2, "action": "suspend", "days": 7}, {"at": 3, "action": "ban"}]}},
        reason="a short ladder", actor="test")
    db.session.commit()
    remove(api, jurors[:3], "p1")
    second = remove(api, jurors[3:6], "p2")
    third = remove(api, jurors[6:9], "p3")
    assert account().state == "banned"
    [_, ban] = received("suspend_account")
    assert ban.payload["duration_days"] is None
    appeal = appeals.file_appeal(third.id, "author-1", "Not spam at all.", channel="api", actor="network")
    fresh = make_user("fresh-juror")
    voting.cast_vote(dealing.deal_next(fresh).case_id, fresh, "keep", None)
    appeals.sign_off(appeal.id, lead, True, "An ordinary post.")
    # Two removals still count: a 7-day suspension counted from the second removal, sent for the time left.
    held = account()
    assert held.state == "suspended"
    assert abs(held.suspended_until - (second.decided_at + timedelta(days=7))) < timedelta(seconds=1)
    [_, _, reduced] = received("suspend_account")
    assert reduced.payload["duration_days"] == 7 and reduced.payload["strike_count"] == 2
    assert reduced.payload["verdict_ids"] == [str(v) for v in sorted(
        db.session.scalars(select(Strike.verdict_id).where(Strike.withdrawn_at.is_(None))))]
    assert "permanent suspension has been reduced" in reduced.payload["statement_of_reasons"]
    assert received("unsuspend_account") == []
    # The ban's reduction is not a wait for a removal's measure in the reports.
    counted = figures.account_measures(db.session, utcnow() - timedelta(days=1), utcnow() + timedelta(minutes=1))
    assert (counted["accounts_suspended"], counted["accounts_banned"]) == (1, 1)
    assert counted["p90_hours_to_account_action"] < 1
    # When that suspension ends, the sweeper lifts it.
    db.session.execute(update(Account).values(suspended_until=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert sweeper.sweep()["lifted_suspensions"] == 1
    assert len(received("unsuspend_account")) == 1 and account().state == "active"
