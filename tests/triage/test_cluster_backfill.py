"""`flask clusters backfill`: posts stored before clustering was on join their clusters, and their later
copies then join them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Case, Post, db
from tests.conftest import post_payload, report_payload
from triage import cluster_backfill
from triage.policy import current_policy, publish_policy

THREAT = ("I know where you live @mayor_jones. Tonight I will come to your house and kill you and your "
          "family. Nobody will stop me.")
COPIES = [THREAT.replace("o", "о"), THREAT.replace("Tonight", "Tomorrow"), " ".join(THREAT)]
LAWFUL = ("The council meets on Tuesday to vote on the new cycle lanes along the harbour road; bring your "
          "questions about parking and the bus stops.")


def set_clustering(enabled: bool) -> None:
    settings = current_policy(fresh=True).settings
    publish_policy({**settings, "clusters": {**settings["clusters"], "enabled": enabled}}, reason="test",
                   actor="test")
    db.session.commit()


def posts() -> dict[str, Post]:
    db.session.expire_all()
    return {post.external_id: post for post in db.session.scalars(select(Post))}


@pytest.fixture
def stored_before(api):
    """A threat, its copies and a lawful post, stored and scored while clustering was off."""
    set_clustering(False)
    api.posts(post_payload("orig", THREAT, author="a0"), post_payload("lawful", LAWFUL, author="b0"),
              *[post_payload(f"copy{n}", text, author=f"a{n + 1}") for n, text in enumerate(COPIES)])
    assert all(post.fingerprint is None and post.scored_at is not None for post in posts().values())
    return api


def test_the_backfill_clusters_old_posts_and_their_later_copies_join(stored_before, runner):
    api = stored_before
    set_clustering(True)
    result = runner.invoke(args=["clusters", "backfill", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "clustered 5 posts; 0 left" in result.stdout
    stored = posts()
    threat = {stored[pid].cluster_id for pid in ("orig", "copy0", "copy1", "copy2")}
    assert len(threat) == 1 and None not in threat
    assert stored["lawful"].cluster_id not in threat and stored["lawful"].fingerprint is not None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.event_type == "posts_clustered")) >= 3  # one a batch
    # The old posts keep the cases the model opened for them; a copy that arrives now joins the old
    # post's cluster and opens no case of its own, reported or not.
    cases_before = db.session.scalar(select(func.count()).select_from(Case))
    api.posts(post_payload("late", THREAT.replace("kill", "k1ll"), author="a9"))
    api.reports(report_payload("r-late", "late"))
    stored = posts()
    assert stored["late"].cluster_id in threat
    assert db.session.scalar(select(func.count()).select_from(Case)) == cases_before
    assert db.session.scalar(select(Case).where(Case.post_id == stored["late"].id)) is None
    # Run again: nothing is left, nothing changes.
    again = runner.invoke(args=["clusters", "backfill"])
    assert again.exit_code == 0 and "clustered 0 posts; 0 left" in again.stdout


def test_the_backfill_stops_at_its_limit_and_goes_on_where_it_was(stored_before, runner):
    set_clustering(True)
    first = runner.invoke(args=["clusters", "backfill", "--limit", "3", "--batch-size", "2"])
    assert first.exit_code == 0 and "clustered 3 posts; 2 left" in first.stdout
    assert cluster_backfill.waiting() == 2
    # The first three by id are done; the next run starts after them.
    done = sorted(post.id for post in posts().values() if post.fingerprint is not None)
    assert done == sorted(post.id for post in posts().values())[:3]
    second = runner.invoke(args=["clusters", "backfill"])
    assert second.exit_code == 0 and "clustered 2 posts; 0 left" in second.stdout
    assert all(post.fingerprint is not None for post in posts().values())


def test_the_backfill_refuses_while_clustering_is_off_and_changes_nothing(stored_before, runner):
    result = runner.invoke(args=["clusters", "backfill"])
    assert result.exit_code == 1 and "clustering is off" in result.output
    assert all(post.fingerprint is None for post in posts().values())


@pytest.mark.parametrize("args, message", [(["--batch-size", "0"], "--batch-size"),
                                           (["--batch-size", "100000"], "--batch-size"),
                                           (["--limit", "0"], "--limit"), (["--limit", "x"], "--limit")])
def test_bad_options_are_refused(runner, args, message):
    result = runner.invoke(args=["clusters", "backfill", *args])
    assert result.exit_code == 2 and message in result.output
