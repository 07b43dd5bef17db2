"""What a juror may learn of a post's author: by default nothing (an author's history biases a vote);
the policy setting ``show_author_removals`` shows the count of the author's earlier removals."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from models import Post, Verdict, db
from triage.policy import current_policy
from triage.reporters import removals


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
