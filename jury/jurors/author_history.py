"""What a juror may learn of a post's author: by default nothing (an author's history biases a vote);
the policy setting ``show_author_removals`` shows the count of the author's earlier removals."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select

from models import Appeal, Case, Post, Verdict, db
from triage.policy import current_policy

# Verdicts that judge a post in the first instance (an appeal's or a gold case's are not removals).
FIRST_INSTANCE = ("reported", "auto_flagged")


def removals(column):
    """`column` of the first-instance removal verdicts that no appeal overturned (joined to case and post)."""
    overturned = exists().where(Appeal.verdict_id == Verdict.id, Appeal.state == "overturned")
    return (select(column).select_from(Verdict).join(Case, Case.id == Verdict.case_id)
            .join(Post, Post.id == Case.post_id)
            .where(Verdict.outcome == "remove", Case.origin.in_(FIRST_INSTANCE), ~overturned))


def earlier_removals(author_id: str, before: datetime | None = None, other_than_post: int | None = None) -> int:
    """How many of the author's posts the jury removed (decided before a time, other than one post)."""
    query = removals(Verdict.id).where(Post.author_id == author_id)
    if before is not None:
        query = query.where(Verdict.decided_at < before)
    if other_than_post is not None:
        query = query.where(Post.id != other_than_post)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def removals_shown(author_id: str, post_id: int) -> int | None:
    """The count a juror is shown beside a post (its own removal left out), or None: blind by default."""
    if not current_policy().settings.get("show_author_removals", False):
        return None
    return earlier_removals(author_id, other_than_post=post_id)
