"""The demo seeds a repeat spammer with two removals: the third removal suspends the account."""
from __future__ import annotations

from sqlalchemy import func, select

from jury.panels import verdicts
from jury.panels.quorum import Tally
from models import Account, Action, Case, Post, Strike, User, db
from triage import transaction
from triage.policy import current_policy


def test_the_demo_spammers_third_removal_suspends_the_account(sqlite_app):
    result = sqlite_app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    oscar = db.session.scalar(select(Account).where(Account.external_id == "oscar"))
    assert oscar.state == "warned"
    assert db.session.scalar(select(func.count()).select_from(Strike).where(Strike.account_id == oscar.id)) == 2
    case = db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == "demo-15"))
    lead = db.session.scalar(select(User).where(User.username == "lead"))
    with transaction.atomic():
        verdicts.record_verdict(case, "remove", "spam", Tally(), method="lead",
                                policy_version=current_policy().version, actor="test", decided_by=lead)
    db.session.expire_all()
    assert db.session.get(Account, oscar.id).state == "suspended"
    suspension = db.session.scalar(select(Action).where(Action.type == "suspend_account"))
    assert (suspension.account_external_id, suspension.duration_days, suspension.strike_count) == ("oscar", 7, 3)
