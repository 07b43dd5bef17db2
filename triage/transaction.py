"""The unit of work: every state change runs inside `atomic()`, the one place that commits.

A change (ingest, a vote, a verdict, a juror's new state...) is one function that opens
`atomic()`, writes its rows and its audit events, and defers its jobs (`triage.jobs.defer`):
the boundary commits once at its outermost exit, then hands the jobs to their queues, so a
worker never reads rows that are not committed yet. An exception rolls everything back, jobs
and audit events included, and goes on to the caller. A change that calls another inside its
own `atomic()` makes both one transaction: the inner `atomic()` joins the outer one.

    with transaction.atomic(keep=(juror,)) as tx:
        ...                 # the change's writes, audit.record(...), jobs.defer(...)
        tx.keep(seat)       # more objects whose loaded values outlive the commit
        tx.on_commit(work)  # runs after the commit, outside any transaction

`durable=True` marks a change that must own its transaction (it commits more than once, or
calls the network between its writes): it raises `NestedTransaction` inside another one.
`savepoint()` lets a part of a change fail without undoing the rest (the next deal made in the
vote's transaction on the juror's screen).

Nothing else commits or rolls back the session, which tests/triage/test_transaction_boundary.py
keeps so. The one exception is the audit chain's sealer (`audit.seal`), which lives below this
layer and commits each of its batches to free the chain's lock; it is not a state change.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.orm.attributes import set_committed_value

import audit
from models import db
from triage import jobs

log = logging.getLogger(__name__)

_OPEN_KEY = "jury_transaction"


class NestedTransaction(RuntimeError):
    """A durable change was called inside another change's transaction."""


class Transaction:
    """The open unit of work: objects to keep loaded past its commit, and work for after it."""

    def __init__(self, keep: Iterable[object]) -> None:
        self._keep: list[object] = []
        self._after: list[Callable[[], Any]] = []
        self._savepoints = 0
        self.keep(*keep)

    def keep(self, *objects: object) -> None:
        """Keep these ORM objects' loaded column values after the commit.

        A commit expires every object, so the next read of, say, the request's juror costs another
        query and row load (about 1 ms); the values are the ones this transaction read or wrote
        itself, as current as a reload at the start of the next request would be. None is ignored.
        """
        self._keep.extend(obj for obj in objects if obj is not None)

    def on_commit(self, callback: Callable[[], Any]) -> None:
        """Call `callback()` once the transaction has committed, after its jobs are queued; never if
        it rolls back. It runs outside any transaction: a change it makes opens `atomic()` itself.
        An exception it raises reaches the caller of the outermost `atomic()` (the commit stands)."""
        self._after.append(callback)


def current() -> Transaction | None:
    """The open unit of work of this session, if any."""
    return db.session.info.get(_OPEN_KEY)


def in_transaction() -> bool:
    """True inside an open `atomic()`."""
    return current() is not None


@contextmanager
def atomic(*, keep: Iterable[object] = (), durable: bool = False) -> Iterator[Transaction]:
    """Run a state change as one transaction; see the module's docstring.

    keep: ORM objects whose loaded values stay loaded after the commit (Transaction.keep).
    durable: this change owns its transaction; raises NestedTransaction inside an open one.
    """
    tx = current()
    if tx is not None:
        if durable:
            raise NestedTransaction("a durable change was called inside another change's transaction")
        tx.keep(*keep)
        yield tx  # joined: the outermost atomic() commits or rolls back
        return
    tx = Transaction(keep)
    db.session.info[_OPEN_KEY] = tx
    try:
        yield tx
        kept = [_loaded_columns(obj) for obj in tx._keep]
        db.session.commit()
    except BaseException:
        _roll_back()
        raise
    finally:
        db.session.info.pop(_OPEN_KEY, None)
    for obj, values in kept:
        for key, value in values.items():
            set_committed_value(obj, key, value)
    for name, args in jobs.dispatch_deferred():
        _run_inline(name, args)
    for callback in tx._after:
        callback()


def _run_inline(name: str, args: tuple) -> None:
    """Run a job at once (no Redis). Its failure is logged, not raised: the rows are committed, so
    the sweeper finds the work again; the request that committed them does not fail."""
    try:
        # In an app context of its own, as in a worker: the job's session is not the request's.
        with current_app._get_current_object().app_context():
            jobs.job_function(name)(*args)
    except Exception:
        log.exception("inline job %s failed; the sweeper will retry it", name)
        _roll_back()  # a job that failed reading (outside any atomic()) leaves its transaction open


def _roll_back() -> None:
    """Roll back and forget the deferred jobs; a rollback that fails (the connection is gone) is
    logged, so the error that caused it is the one that reaches the caller."""
    jobs.drop_deferred()
    try:
        db.session.rollback()
    except Exception:
        log.exception("rolling back a failed transaction failed too")


def _loaded_columns(obj: object) -> tuple[object, dict[str, Any]]:
    """The object itself (not a proxy such as current_user) and its column values that are loaded
    now (never the expired or server-computed ones)."""
    state = inspect(obj)
    return state.obj(), {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs if attr.key in state.dict}


class Savepoint:
    """A point inside the open transaction that its later work can be rolled back to.

    Plain SQL rather than session.begin_nested(): that flushes, and releases the savepoint when the
    block ends, each a round trip of its own; a savepoint is released by the commit anyway. Named
    by its rank in the transaction, so a transaction that sets its savepoints in the same order
    sends the same statements: psycopg forgets every prepared statement of the connection when it
    first meets a statement answered "ROLLBACK", and a name of its own would be a new statement.
    """

    def __init__(self) -> None:
        tx = current()
        if tx is None:
            raise RuntimeError("a savepoint is set inside atomic()")
        tx._savepoints += 1
        self.name = f"unit_{tx._savepoints}"
        self._events = audit.pending_count(db.session)
        self._jobs = jobs.deferred_mark()
        self._after = len(tx._after)
        db.session.execute(text(f"SAVEPOINT {self.name}"))

    def rewind(self) -> None:
        """Roll back to the savepoint, which stays set: the changes, audit events, deferred jobs and
        after-commit work that came after it never happened."""
        db.session.execute(text(f"ROLLBACK TO SAVEPOINT {self.name}"))
        audit.forget_pending(db.session, self._events)
        jobs.rewind_deferred(self._jobs)
        del current()._after[self._after:]


def set_savepoint() -> Savepoint:
    """Set a savepoint in the open transaction; the caller rewinds it when it needs to."""
    return Savepoint()


@contextmanager
def savepoint() -> Iterator[Savepoint]:
    """Let the block fail without undoing the transaction's earlier work.

    On an exception the transaction is rolled back to the savepoint (Savepoint.rewind) and the
    exception is raised again: the caller decides whether the rest of the change goes on (catch
    it inside the `atomic()`) or not (let it through). Should the rewind itself fail (the
    connection is gone), that error is raised instead, and the whole transaction fails.
    """
    point = Savepoint()
    try:
        yield point
    except BaseException:
        point.rewind()
        raise


def abandon() -> None:
    """Roll back the session's open transaction outside any change: after a read that failed
    (PostgreSQL refuses every later statement of the transaction until then). Inside `atomic()` the
    boundary does this itself, so it raises there."""
    if in_transaction():
        raise RuntimeError("inside atomic(), an exception rolls the transaction back")
    _roll_back()
