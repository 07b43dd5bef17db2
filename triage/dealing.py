"""Deal cases to jurors: at random among the highest-priority eligible ones, under a lease."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

import audit
from jury.extensions import db
from jury.policy import current_policy
from models import OPEN_CASE_STATES, Assignment, Case, Post, Report, User, Vote, utcnow
from triage import jobs

# Deal at random among up to this many top cases whose priority is within DEAL_BAND of
# the highest: jurors never choose, two jurors asking at once rarely collide on one
# row, and a graver case (one severity step is worth 10) is never passed over.
DEAL_WINDOW = 8
DEAL_BAND = 2.5
_rng = random.SystemRandom()


def active_assignment(juror: User) -> Assignment | None:
    """The juror's live, unexpired lease, if any."""
    return db.session.scalar(
        select(Assignment).where(
            Assignment.juror_id == juror.id, Assignment.state == "active", Assignment.expires_at > utcnow()
        ).order_by(Assignment.leased_at.desc()).limit(1)
    )


def _eligible_ids(juror: User, limit: int, skip_locked: bool = True) -> list[int]:
    """Ids of the top open cases this juror may sit on, locked where the database can."""
    conditions = [
        Case.state.in_(OPEN_CASE_STATES),
        Case.open_seats > 0,
        ~exists().where(Assignment.case_id == Case.id, Assignment.juror_id == juror.id),
        ~exists().where(Vote.case_id == Case.id, Vote.juror_id == juror.id),
    ]
    # An appeal goes to a fresh panel: nobody who sat on an earlier round of the same post.
    earlier, seat = aliased(Case), aliased(Assignment)
    conditions.append(~exists().where(earlier.post_id == Case.post_id, earlier.review_round < Case.review_round,
                                      seat.case_id == earlier.id, seat.juror_id == juror.id))
    if juror.network_account_id:
        account = juror.network_account_id
        conditions.append(~exists().where(Post.id == Case.post_id, Post.author_id == account))
        conditions.append(~exists().where(and_(Report.post_id == Case.post_id, Report.reporter_id == account)))
    statement = (
        select(Case.id, Case.priority).where(*conditions).order_by(Case.priority.desc(), Case.id).limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Rows another juror is being dealt right now are skipped, not waited on.
        statement = statement.with_for_update(skip_locked=skip_locked, of=Case)
    rows = db.session.execute(statement).all()
    if not rows:
        return []
    top = rows[0].priority
    return [row.id for row in rows if row.priority >= top - DEAL_BAND]


def deal_next(juror: User) -> Assignment | None:
    """Give the juror a seat on a case (their current one if they hold a live lease)."""
    if juror.state in ("paused", "suspended"):
        return None  # a lead paused or suspended them: no new seats
    current = active_assignment(juror)
    if current is not None:
        return current
    policy = current_policy()
    for attempt in range(5):
        candidates = _eligible_ids(juror, DEAL_WINDOW)
        if not candidates and attempt == 0:
            # Every eligible row may be locked for a moment by votes in flight: wait for
            # them once rather than tell the juror there is nothing to do.
            candidates = _eligible_ids(juror, DEAL_WINDOW, skip_locked=False)
        if not candidates:
            db.session.rollback()
            return None
        _rng.shuffle(candidates)
        for case_id in candidates:
            # The guarded decrement is what makes a seat impossible to deal twice,
            # on SQLite as on PostgreSQL.
            taken = db.session.execute(
                update(Case).where(Case.id == case_id, Case.open_seats > 0,
                                   Case.state.in_(OPEN_CASE_STATES))
                .values(open_seats=Case.open_seats - 1, state="in_review")
            ).rowcount
            if not taken:
                continue
            now = utcnow()
            assignment = Assignment(case_id=case_id, juror_id=juror.id, state="active", leased_at=now,
                                    expires_at=now + timedelta(minutes=policy.lease_minutes))
            db.session.add(assignment)
            try:
                db.session.flush()
            except IntegrityError:
                # This juror was dealt the case by a concurrent request: keep that one.
                jobs.discard()
                return active_assignment(juror)
            audit.record(db.session, "seat_dealt", "case", case_id,
                         {"juror": juror.id, "expires_at": assignment.expires_at.isoformat()},
                         actor=f"user:{juror.id}")
            jobs.commit()
            return assignment
        db.session.rollback()
    return None


def lock_case(case_id: int) -> None:
    """Take the case's row lock for the rest of the transaction (a write lock on SQLite)."""
    db.session.execute(update(Case).where(Case.id == case_id).values(lock_version=Case.lock_version + 1))


def release(assignment: Assignment, new_state: str, actor: str) -> None:
    """Give a seat back to the case (skip or expiry); the caller commits."""
    # Lock the case before the assignment, in the same order as voting, so the two never deadlock.
    lock_case(assignment.case_id)
    released = db.session.execute(
        update(Assignment).where(Assignment.id == assignment.id, Assignment.state == "active")
        .values(state=new_state, released_at=utcnow())
    ).rowcount
    if released:
        db.session.execute(update(Case).where(Case.id == assignment.case_id)
                           .values(open_seats=Case.open_seats + 1))
        audit.record(db.session, f"seat_{new_state}", "case", assignment.case_id,
                     {"juror": assignment.juror_id}, actor=actor)


def expire_leases(limit: int = 1000) -> int:
    """Return the seats of leases that ran out to their cases."""
    stale = db.session.scalars(
        select(Assignment).where(Assignment.state == "active", Assignment.expires_at <= utcnow()).limit(limit)
    ).all()
    for assignment in stale:
        release(assignment, "expired", "system")
    jobs.commit()
    return len(stale)
