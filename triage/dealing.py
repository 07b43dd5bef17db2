"""Deal cases to jurors: at random among the highest-priority eligible ones, under a lease."""
from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import lazyload, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

import audit
from models import OPEN_CASE_STATES, Assignment, Case, User, db, sql, utcnow
from triage import exclusions, gold, transaction
from triage.policy import PolicyInForce, current_policy

# Deal at random among up to this many top cases whose priority is within DEAL_BAND of
# the highest: jurors never choose, two jurors asking at once rarely collide on one
# row, and a graver case (one severity step is worth 10) is never passed over.
DEAL_WINDOW = 8
DEAL_BAND = 2.5
DEADLOCK_RETRIES = 3
_rng: random.Random = random.SystemRandom()


@contextmanager
def repeatable(seed: int) -> Iterator[None]:
    """Deal from a generator seeded with `seed` inside (simulations: the same run every time for a
    seed); outside, from the operating system's randomness, which no juror can predict."""
    global _rng
    saved, _rng = _rng, random.Random(seed)  # noqa: S311 - a simulation's repeatable draws, no secrets
    try:
        yield
    finally:
        _rng = saved


# The statements every deal and vote runs, built once: building a statement and its cache key
# cost more than running it (about 0.45 of a 0.8 ms query on a small machine).
_seats = Assignment.__table__
# A Core read (nearly always of no row): through the ORM it cost a twelfth of a vote's CPU.
# A juror holds at most one active seat (the unique index uq_assignments_one_live_seat).
_HELD_SEAT = select(*_seats.c, (_seats.c.expires_at > bindparam("now")).label("live")).where(
    _seats.c.juror_id == bindparam("juror_id"), _seats.c.state == "active")
# The seat-taking updates are Core statements on the table: through the ORM, each ran the unit of
# work's bulk-update path (looking for session objects to keep in step), a seventh of a vote's CPU
# with the other ORM updates; no object of a case being dealt is in the session.
_cases = Case.__table__


def _seat_free(cases) -> tuple:
    """The case row (of `cases`, the table or an alias of it) is open and has a free seat."""
    return cases.c.open_seats > 0, cases.c.state.in_(OPEN_CASE_STATES)


_SEAT_FREE = _seat_free(_cases)
_TAKE_SEAT = (
    update(_cases).where(_cases.c.id == bindparam("case_id"), *_SEAT_FREE)
    .values(open_seats=_cases.c.open_seats - 1, state="in_review")
)
# PostgreSQL: the same decrement, but a row another transaction holds is skipped, not waited on.
_held = _cases.alias("held")
_TAKE_UNLOCKED_SEAT = (
    update(_cases).where(
        _cases.c.id == select(_held.c.id).where(_held.c.id == bindparam("case_id"), *_seat_free(_held))
        .with_for_update(skip_locked=True, key_share=True).scalar_subquery(),
        *_SEAT_FREE)
    .values(open_seats=_cases.c.open_seats - 1, state="in_review")
)
_LOCK_CASE = update(_cases).where(_cases.c.id == bindparam("case_id")).values(lock_version=_cases.c.lock_version + 1)
# The case under its row lock, as an object (the vote reads and writes it). On PostgreSQL a locking
# read takes the lock the update above takes (FOR NO KEY UPDATE), without writing a new row version
# of the case on every vote; SQLite has no row locks, and the update takes its write lock.
_LOCK_AND_LOAD_CASE = update(Case).where(Case.id == bindparam("case_id")).values(
    lock_version=Case.lock_version + 1).returning(Case)
# Its post loads when read, as after the update (Case.post is otherwise joined in, and a row lock
# cannot take the outer join's side).
_LOAD_LOCKED_CASE = (select(Case).where(Case.id == bindparam("case_id")).options(lazyload(Case.post))
                     .with_for_update(key_share=True, of=Case))
_INSERT_LEASE = insert(Assignment.__table__).returning(Assignment.__table__.c.id)
def active_assignment(juror: User) -> Assignment | None:
    """The juror's live, unexpired lease, if any (the row as stored, detached: read it, do not change it)."""
    held = _held_seat(juror)
    return held[0] if held is not None and held[1] else None


def _held_seat(juror: User) -> tuple[Assignment, bool] | None:
    """The juror's active seat and whether its lease still runs (a run-out one may not be swept yet)."""
    row = db.session.execute(_HELD_SEAT, {"juror_id": juror.id, "now": utcnow()}).first()
    if row is None:
        return None
    values = row._asdict()
    live = bool(values.pop("live"))
    seat = db.session.identity_map.get(identity_key(Assignment, row.id))
    if seat is None:  # not already the session's own object of that row
        seat = Assignment(**values)
        make_transient_to_detached(seat)
    return seat, live


# Dealing statements by shape (see exclusions.JurorFilter). Building the statement and its
# cache key cost about 1 ms of a 10 ms deal; jurors of the same shape share one, run with
# their own values. Few shapes exist (account or not, opt-outs or not, the policy's caps).
_STATEMENTS: dict[tuple, Select] = {}
_MAX_STATEMENTS = 64


def _eligible_statement(juror: User, policy: PolicyInForce, limit: int, skip_held: bool) -> tuple[Select, dict]:
    """The dealing query for this juror's shape, and the values to run it with."""
    spec = exclusions.juror_filter(juror, policy)
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    key = (spec.shape, limit, skip_held and postgresql)
    statement = _STATEMENTS.get(key)
    if statement is None:
        conditions = exclusions.real_case_conditions(juror, policy)
        statement = (
            select(Case.id, Case.priority).where(*conditions).order_by(Case.priority.desc(), Case.id)
            .limit(exclusions.constant(limit))
        )
        if skip_held and postgresql:
            # Rows a vote, a deal or a sweep holds right now are passed over, not waited on.
            statement = statement.with_for_update(skip_locked=True, key_share=True, of=Case)
        _remember(key, statement)
    return statement, spec.values


def _gold_statement(juror: User, policy: PolicyInForce) -> tuple[Select, dict]:
    """The gold dealing query for this juror's shape, and the values to run it with.

    Built once per shape like the real one: building it each time, and PostgreSQL planning it
    each time, cost 4-5 ms of a deal against well under 1 ms to run it.
    """
    spec = exclusions.juror_filter(juror, policy)
    key = ("gold", spec.shape)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = (select(Case.id).where(*exclusions.gold_case_conditions(juror, policy))
                     .order_by(func.random()).limit(exclusions.constant(1)))
        _remember(key, statement)
    return statement, spec.values


def _remember(key: tuple, statement: Select) -> None:
    """Keep a built dealing statement for its shape (a bounded cache: shapes come from policies)."""
    if len(_STATEMENTS) >= _MAX_STATEMENTS:
        _STATEMENTS.clear()
    _STATEMENTS[key] = statement


class DealWouldWait(Exception):
    """A deal made inside another change's transaction (deal_without_waiting) would have to wait
    for a row, lost a race, or failed: it is undone, and made later in a transaction of its own."""


@dataclass
class _Deal:
    """One deal under way. undo: the savepoint a failed take, a lost race or a deadlock rolls back
    to, set before its first write (the window read sets it anyway: see _eligible_ids); fresh:
    nothing ran since it was set or rolled back to. joined: made after the caller's savepoint
    (`undo`) in its transaction (deal_without_waiting): it never waits, nor starts over."""

    juror: User
    policy: PolicyInForce
    undo: transaction.Savepoint | None = None
    joined: bool = False
    fresh: bool = False
    holds_row: bool = False  # a seat given back holds its case's row: the deal must not wait for another

    def before_write(self) -> None:
        if self.undo is None:
            self.undo = transaction.set_savepoint()
        self.fresh = False

    def rewind(self) -> None:
        self.undo.rewind()
        self.fresh = True

    def start_over(self) -> None:
        """Undo the deal's writes (and free any row a failed take holds), or give up when joined."""
        if self.joined:
            raise DealWouldWait
        if self.undo is not None:
            self.rewind()


def _eligible_ids(deal: _Deal, limit: int, skip_held: bool = True) -> list[int]:
    """Ids of the top open cases this juror may sit on; with skip_held, none another transaction holds.

    Skipping a held row means locking the others (FOR NO KEY UPDATE SKIP LOCKED), and a deal that
    kept eight rows locked while it took one made votes on the other seven wait, and let two deals
    wait for each other. So the read runs just after a savepoint that is rolled back to at once:
    the window is what was free a moment ago, and the deal holds no row until it takes a seat.
    The savepoint stays set: it is the one the deal rolls back to should it start over.
    """
    statement, values = _eligible_statement(deal.juror, deal.policy, limit, skip_held)
    if skip_held and db.session.get_bind().dialect.name == "postgresql":
        if not deal.fresh:
            deal.undo = transaction.set_savepoint()
        rows = db.session.execute(statement, values).all()
        deal.rewind()
    else:
        rows = db.session.execute(statement, values).all()
    if not rows:
        return []
    top = rows[0].priority
    return [row.id for row in rows if row.priority >= top - DEAL_BAND]


def _lease(case_id: int, juror: User, policy: PolicyInForce, deal: _Deal) -> Assignment | None:
    """Add the juror's assignment to a seat already taken; None (the deal undone) if a concurrent deal won."""
    now = utcnow()
    values = {"case_id": case_id, "juror_id": juror.id, "state": "active", "leased_at": now,
              "expires_at": now + timedelta(minutes=policy.lease_minutes), "released_at": None}
    try:
        # A plain insert: the unit of work's flush of one new row costs twice as much.
        assignment_id = db.session.execute(_INSERT_LEASE, values).scalar_one()
    except IntegrityError:
        deal.start_over()
        return None
    assignment = Assignment(id=assignment_id, **values)
    audit.record(db.session, "seat_dealt", "case", case_id,
                 {"juror": juror.id, "expires_at": assignment.expires_at.isoformat()},
                 actor=f"user:{juror.id}")
    make_transient_to_detached(assignment)  # the row as stored: nothing left to flush
    # Into the session once committed (the page reads it next); a ghost of a row rolled back would
    # clash there with the next row to get its id.
    transaction.current().on_commit(lambda: db.session.add(assignment))
    return assignment


def deal_gold(juror: User, policy: PolicyInForce) -> Assignment | None:
    """Deal a random gold case the juror has not seen; gold cases have no seat limit."""
    with transaction.atomic(keep=(juror,)):
        return _deal_gold(_Deal(juror, policy))


def _deal_gold(deal: _Deal) -> Assignment | None:
    statement, values = _gold_statement(deal.juror, deal.policy)
    case_id = db.session.scalar(statement, values)
    if case_id is None:
        return None
    deal.before_write()
    return _lease(case_id, deal.juror, deal.policy, deal) or active_assignment(deal.juror)


def deal_next(juror: User) -> Assignment | None:
    """Give the juror a seat on a case (their current one if they hold a live lease).

    One transaction, the caller's when it has one (the screen reads the dealt case's page in it).
    A deal waits for a row only while it holds none of its own (see _take_a_seat), but PostgreSQL
    can make a skipping lock wait for a row's newer version, so it may still pick a deal as a
    deadlock's victim: the deal is rolled back to its savepoint and tried again, up to
    DEADLOCK_RETRIES times. Suspended jurors are dealt nothing.
    """
    if juror.state == "probation":
        _waive_untestable_probation(juror)
    with transaction.atomic(keep=(juror,)):
        if juror.state == "suspended":
            return None
        held = _held_seat(juror)
        if held is not None and held[1]:
            return held[0]
        if held is not None:  # its lease ran out and no sweep gave it back yet: given back with the deal
            release(held[0], "expired", actor="system")
        for attempt in range(DEADLOCK_RETRIES):
            deal = _Deal(juror, current_policy(), holds_row=held is not None)
            try:
                return _deal(deal)
            except OperationalError as error:
                if not sql.is_deadlock(error) or attempt == DEADLOCK_RETRIES - 1 or deal.undo is None:
                    raise
                deal.rewind()
    return None


def _waive_untestable_probation(juror: User) -> None:
    """A newcomer the gold set is too small to test is made active before the deal, in a commit of its
    own when the deal has its own (with the deal's, a two-row audit insert psycopg prepares at once)."""
    policy = current_policy()
    if not gold.probation_possible(policy):
        gold.waive_probation(juror, policy)


def deals_alongside(juror: User) -> bool:
    """Whether deal_without_waiting may deal this juror: on PostgreSQL (row locks to skip), an active
    juror (training and waiving probation write to the juror's own row: kept apart)."""
    return juror.state == "active" and db.session.get_bind().dialect.name == "postgresql"


def deal_without_waiting(juror: User, savepoint: transaction.Savepoint) -> Assignment | None:
    """Deal in the caller's open transaction just after its `savepoint` (the screen: after the vote,
    see jury.panels.screen), for jurors deals_alongside allows. So that it can neither undo nor deadlock
    the caller's work, it never waits for a row: a window whose rows are all held, a lost race or
    any error raise DealWouldWait, and the caller rolls back to its savepoint. Having just voted
    their seat, the juror holds none, so that read is skipped; should they hold another (a late
    vote on a seat given back, after a new one was dealt), the lease breaks the unique index."""
    try:
        return _deal(_Deal(juror, current_policy(), undo=savepoint, joined=True, fresh=True))
    except DealWouldWait:
        raise
    except Exception as error:
        raise DealWouldWait from error


def _deal(deal: _Deal) -> Assignment | None:
    """One try of a deal, for a juror holding no live seat. Jurors on probation or paused are dealt
    gold cases only; others get a gold case with the policy's gold_share, and otherwise a real one."""
    juror, policy = deal.juror, deal.policy
    if juror.state in exclusions.TRAINING_STATES:
        return _deal_gold(deal)
    if policy.gold_share > 0 and _rng.random() < policy.gold_share:
        dealt = _deal_gold(deal)
        if dealt is not None:
            return dealt
    return _deal_real(deal)


def _deal_real(deal: _Deal) -> Assignment | None:
    """A seat on a real case: up to five tries at the top of the queue."""
    for attempt in range(5):
        candidates = _eligible_ids(deal, DEAL_WINDOW)
        wait = False
        if not candidates and attempt == 0 and not deal.holds_row:
            # Every eligible row may be held for a moment by votes in flight: wait for one of
            # them once rather than tell the juror there is nothing to do.
            candidates, wait = _eligible_ids(deal, DEAL_WINDOW, skip_held=False), True
            if candidates and deal.joined:
                raise DealWouldWait
        if not candidates:
            return None
        _rng.shuffle(candidates)
        deal.before_write()
        case_id = _take_a_seat(candidates[:1] if wait else candidates, wait)
        if case_id is not None:
            # None: this juror was dealt the case by a concurrent request: keep that one.
            return _lease(case_id, deal.juror, deal.policy, deal) or active_assignment(deal.juror)
        deal.start_over()  # a failed take may hold a row: the rollback frees it
    return None


def _take_a_seat(candidates: list[int], wait: bool) -> int | None:
    """Take one seat among the candidates, in their order; the case's id, or None if none was free.

    One guarded decrement of one row takes a seat: that is what makes a seat impossible to deal
    twice, on SQLite as on PostgreSQL. On PostgreSQL a row held since the window was read is
    skipped, unless told to wait, which the caller does only holding no row of its own: so a
    deal never waits for one case while it holds another, and cannot deadlock with another deal,
    a vote or a sweep.
    """
    statement = _TAKE_SEAT
    if not wait and db.session.get_bind().dialect.name == "postgresql":
        statement = _TAKE_UNLOCKED_SEAT
    for case_id in candidates:
        if db.session.execute(statement, {"case_id": case_id}).rowcount:
            return case_id
    return None


def lock_case(case_id: int) -> None:
    """Take the case's row lock for the rest of the transaction (a write lock on SQLite)."""
    db.session.execute(_LOCK_CASE, {"case_id": case_id})


def lock_and_load_case(case_id: int) -> Case | None:
    """lock_case, and the case as it is under that lock, in one statement (None if there is no such case)."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    return db.session.scalars(
        _LOAD_LOCKED_CASE if postgresql else _LOCK_AND_LOAD_CASE, {"case_id": case_id},
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).first()


def release(assignment: Assignment, new_state: str, actor: str) -> None:
    """Give a seat back to the case (skip or expiry), in the caller's transaction."""
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
    stale = db.session.execute(
        select(Assignment.id, Assignment.case_id, Assignment.juror_id)
        .where(Assignment.state == "active", Assignment.expires_at <= utcnow())
        .order_by(Assignment.case_id).limit(limit)
    ).all()
    for row in stale:
        # One case per transaction: a sweep that held every case it had released so far while it
        # waited for the next one's row could deadlock with a deal or a vote.
        with transaction.atomic(durable=True):
            release(Assignment(id=row.id, case_id=row.case_id, juror_id=row.juror_id), "expired", "system")
    return len(stale)
