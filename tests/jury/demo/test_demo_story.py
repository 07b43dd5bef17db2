"""The demo tells the whole story: a removal carried through an appeal to the lead's sign-off, with
enough demo jurors to fill the appeal's fresh panel, and a printout that says what to try, in order."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jury.appeals import review as appeals
from jury.demo import seed
from jury.panels import voting
from models import Account, Appeal, Case, Post, User, db
from triage import dealing

# The demo runs Jury's defaults, near-duplicate clusters on.
pytestmark = pytest.mark.clusters


def user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def deal(name: str) -> int | None:
    """The case a juror is dealt, after voting on any known-answer case that comes first (new jurors
    get some; the demo's is the choir post, which is not spam)."""
    for _ in range(5):
        assignment = dealing.deal_next(user(name))
        if assignment is None:
            return None
        case = db.session.get(Case, assignment.case_id)
        if case.origin != "gold":
            return case.id
        voting.cast_vote(case.id, user(name), "keep")
    return None


def test_a_removal_goes_through_an_appeal_to_the_leads_sign_off_with_the_demo_jurors(sqlite_app):
    result = sqlite_app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "What to try, in order:" in result.output and "  5. Log in as lead" in result.output
    for name in ("juror4", "juror8", "juliette"):
        assert f" {name} " in result.output
    threat = db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == "demo-3"))
    assert threat.critical_at is not None  # the critical lane: first in the queue
    # victor and walter pasted the threat: their posts share its case, and open none of their own.
    copies = db.session.scalars(select(Post).where(Post.external_id.in_(("demo-16", "demo-17")))).all()
    assert {post.cluster_id for post in copies} == {threat.cluster_id} and threat.cluster_id is not None
    assert db.session.scalar(select(Case.id).join(Post, Post.id == Case.post_id)
                             .where(Post.external_id.in_(("demo-16", "demo-17")))) is None
    # Steps 1-2: three jurors remove it.
    for name in ("juror", "juror2", "juror3"):
        assert deal(name) == threat.id, name
        voting.cast_vote(threat.id, user(name), "remove", "violence_threat")
    db.session.expire_all()
    assert db.session.get(Case, threat.id).state in ("decided", "actioned")
    assert db.session.scalar(select(Account.state).where(Account.external_id == "mallory")) == "suspended"
    # Each copy has its own removal, and each author their own suspension.
    for external_id, author in (("demo-16", "victor"), ("demo-17", "walter")):
        assert appeals.latest_decision(external_id).method == "cluster"
        assert db.session.scalar(select(Account.state).where(Account.external_id == author)) == "suspended"
    # Step 3: mallory appeals.
    verdict_id = appeals.latest_decision("demo-3").id
    appeal = appeals.file_appeal(verdict_id, "mallory", "A line from a film.", channel="link", actor="appellant:link")
    # Step 4: juror4 to juror8 are each dealt the appeal first, and fill its panel of five.
    for name in ("juror4", "juror5", "juror6", "juror7", "juror8"):
        assert deal(name) == appeal.appeal_case_id, name
        voting.cast_vote(appeal.appeal_case_id, user(name), "keep")
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "awaiting_signoff"
    # Step 5: the lead signs off; the post is restored and the suspension lifted.
    appeals.sign_off(appeal.id, user("lead"), True, "A film quote, in context.")
    db.session.expire_all()
    assert db.session.get(Appeal, appeal.id).state == "overturned"
    assert db.session.scalar(select(Account.state).where(Account.external_id == "mallory")) == "active"
    # mallory's appeal restores mallory's post only: the copies stay removed.
    assert db.session.scalar(select(Account.state).where(Account.external_id == "victor")) == "suspended"
    assert len(seed.WALKTHROUGH) == 6
