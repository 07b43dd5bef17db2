"""The juror's keyboard screen: a vote or a skip, then the next case dealt and its page read.

Each is one change (triage.transaction). On PostgreSQL, for an active juror, the vote, the next
deal and the read of that case's page share one transaction: one BEGIN, one COMMIT, one audit
insert and one closing rollback fewer per vote. The deal is made after a savepoint, so it can never
undo the vote: a deal that would wait for a row, loses a race or fails is rolled back to it
(dealing.DealWouldWait), the vote is committed alone, and the deal is made in a transaction of its
own. A page that cannot be read is rolled back to it too: the vote is committed, the error goes on
to the juror. Should the connection itself fail, the vote is not stored and the error goes on.
Elsewhere (SQLite, jurors in training) the vote commits first and the deal follows on its own.
"""
from __future__ import annotations

from dataclasses import dataclass

from jury.panels import voting
from jury.panels.case_view import CaseView, case_view
from models import User
from triage import dealing, transaction


def vote_then_next(case_id: int, juror: User, decision: str, rule: str | None,
                   note: str | None) -> CaseView | None:
    """Cast the vote, then deal the juror's next case; its page, or None when nothing is left to do."""
    with transaction.atomic(keep=(juror,)) as tx:
        voting.cast_vote(case_id, juror, decision, rule, note)
        dealt = _deal_alongside(juror, tx) if dealing.deals_alongside(juror) else None
    if dealt is None:
        return next_case(juror)
    if dealt.failure is not None:
        raise dealt.failure
    return dealt.view


def skip_then_next(case_id: int, juror: User) -> CaseView | None:
    """Give the seat back, then deal the juror's next case; its page, or None."""
    voting.skip(case_id, juror)
    return next_case(juror)


def next_case(juror: User) -> CaseView | None:
    """Deal the juror's next case and read its page, in one transaction; None when there is none."""
    with transaction.atomic(keep=(juror,)) as tx:
        assignment = dealing.deal_next(juror)
        return None if assignment is None else _read_page(assignment.case_id, juror, tx)


@dataclass(frozen=True)
class _Dealt:
    """What the deal made in the vote's transaction came to: the next case's page (None: nothing to
    do), or the error that reading it raised (the vote is committed all the same)."""

    view: CaseView | None
    failure: Exception | None = None


def _deal_alongside(juror: User, tx: transaction.Transaction) -> _Dealt | None:
    """Deal and read the page after a savepoint in the vote's transaction; None if the deal is to be
    made after the vote's commit instead (it was rolled back to the savepoint)."""
    try:
        with transaction.savepoint() as point:
            assignment = dealing.deal_without_waiting(juror, point)
            return _Dealt(None if assignment is None else _read_page(assignment.case_id, juror, tx))
    except dealing.DealWouldWait:
        return None
    except Exception as error:  # noqa: BLE001 - raised again once the vote is committed
        # Should rolling back to the savepoint have failed too (the connection is gone), the
        # commit fails, and that error reaches the juror instead: the vote is not stored.
        return _Dealt(None, error)


def _read_page(case_id: int, juror: User, tx: transaction.Transaction) -> CaseView:
    """The dealt case's page; its rows stay loaded past the commit (rendering reads them, no query)."""
    view = case_view(case_id, juror)
    tx.keep(view.post, view.verdict)
    return view
