"""The unit of work (triage.transaction): one boundary commits, and nothing else does.

The boundary's own behaviour on SQLite and PostgreSQL (nesting, rollback, jobs after the commit,
durable changes, savepoints, objects kept loaded), and a scan of the project's source that keeps
every commit and rollback inside it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import event, func, inspect, select

import audit
from models import AuditEvent, SandboxFollow, db
from triage import jobs, transaction

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("jury", "triage", "audit", "models", "network", "classifiers")
BOUNDARY = "triage/transaction.py"
# The audit chain's sealer lives below the boundary's layer (audit knows nothing of jobs or Flask)
# and commits each batch to free the chain's lock; it is chain upkeep, never part of a change.
ALLOWED = {("audit/log.py", "seal")}
FLAG_PARAMETERS = {"commit", "alongside"}
# A queue named by a string is a job queue; a yes/no `queue` would say "commit and queue, or not".
BOOLEAN_FLAG_PARAMETERS = {"queue"}

ran: list[tuple[str, bool, int]] = []  # (job argument, inside a transaction?, rows other connections see)


def record_job(tag: str) -> None:
    """A job (named by its dotted path): what it saw when it ran."""
    with db.engine.connect() as other:
        visible = other.scalar(select(func.count()).select_from(SandboxFollow))
    ran.append((tag, transaction.in_transaction(), visible))


JOB = f"{__name__}.record_job"


@pytest.fixture(autouse=True)
def _no_jobs_yet():
    ran.clear()
    yield
    ran.clear()


def _follow(follower: str) -> None:
    db.session.add(SandboxFollow(follower_id=follower, followed_id="someone"))


def _followers() -> list[str]:
    db.session.expire_all()
    return sorted(db.session.scalars(select(SandboxFollow.follower_id)))


def _events(event_type: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == event_type))


class _Ends:
    """Counts the engine's COMMITs and ROLLBACKs while in use."""

    def __enter__(self):
        self.counts = {"commit": 0, "rollback": 0}
        self._listeners = [(name, self._counter(name)) for name in self.counts]
        for name, listener in self._listeners:
            event.listen(db.engine, name, listener)
        return self.counts

    def _counter(self, name):
        def listener(_conn):
            self.counts[name] += 1
        return listener

    def __exit__(self, *_exc):
        for name, listener in self._listeners:
            event.remove(db.engine, name, listener)


def test_a_nested_atomic_joins_the_outer_transaction(app):
    db.session.commit()  # the fixture's own setup, out of the way
    with _Ends() as ends:
        with transaction.atomic() as outer:
            _follow("a")
            with transaction.atomic() as inner:
                assert inner is outer
                _follow("b")
            assert ends["commit"] == 0  # the inner exit committed nothing
        assert ends == {"commit": 1, "rollback": 0}
    assert _followers() == ["a", "b"]
    assert not transaction.in_transaction()


def test_an_error_in_a_nested_atomic_rolls_back_the_whole_transaction(app):
    with pytest.raises(RuntimeError), transaction.atomic():
        _follow("a")
        with transaction.atomic():
            _follow("b")
            raise RuntimeError("the inner change failed")
    assert _followers() == []
    assert not transaction.in_transaction()


def test_a_rollback_drops_the_deferred_jobs_and_audit_events(app):
    with pytest.raises(RuntimeError), transaction.atomic():
        _follow("a")
        audit.record(db.session, "test_event", "test", 1)
        jobs.defer("actions", JOB, "never")
        jobs.defer_coalesced("scoring", JOB, key="test-coalesced")
        raise RuntimeError("the change failed")
    assert ran == [] and _followers() == [] and _events("test_event") == 0
    # Nothing lingers for the next transaction to dispatch.
    with transaction.atomic():
        pass
    assert ran == []


def test_jobs_run_only_after_the_commit_outside_any_transaction(app):
    with transaction.atomic():
        _follow("a")
        jobs.defer("actions", JOB, "after")
        assert ran == []
    # Inline (no Redis): run once the commit made the row visible to every connection.
    assert ran == [("after", False, 1)]


def test_on_commit_work_runs_after_the_commit_and_never_after_a_rollback(app):
    seen = []
    with transaction.atomic() as tx:
        _follow("a")
        tx.on_commit(lambda: seen.append(transaction.in_transaction()))
        assert seen == []
    assert seen == [False]
    with pytest.raises(RuntimeError), transaction.atomic() as tx:
        tx.on_commit(lambda: seen.append("rolled back"))
        raise RuntimeError
    assert seen == [False]


def test_a_durable_change_refuses_to_run_inside_another(app):
    with transaction.atomic(durable=True):
        _follow("a")  # on its own it runs
    with pytest.raises(transaction.NestedTransaction), transaction.atomic():
        _follow("b")
        with transaction.atomic(durable=True):
            _follow("c")
    assert _followers() == ["a"]  # and the outer change that called it failed with it


def test_a_savepoint_undoes_its_part_and_keeps_the_outer_work(app):
    with transaction.atomic():
        _follow("outer")
        audit.record(db.session, "outer_event", "test", 1)
        jobs.defer("actions", JOB, "outer")
        db.session.flush()
        with pytest.raises(RuntimeError), transaction.savepoint():
            _follow("inner")
            db.session.flush()
            audit.record(db.session, "inner_event", "test", 2)
            jobs.defer("actions", JOB, "inner")
            raise RuntimeError("the part failed")
        db.session.expunge_all()  # the inner row's object was rolled back in the database only
        _follow("after")
    assert _followers() == ["after", "outer"]
    assert (_events("outer_event"), _events("inner_event")) == (1, 0)
    assert [tag for tag, _, _ in ran] == ["outer"]


def test_a_savepoint_needs_an_open_transaction(app):
    with pytest.raises(RuntimeError):
        transaction.set_savepoint()


def test_kept_objects_stay_loaded_after_the_commit(app, make_user):
    juror = make_user("kept")
    other = make_user("expired")
    with transaction.atomic(keep=(juror,)) as tx:
        assert juror.username == "kept"  # read in the transaction (make_user's commit expired it)
        juror.locale = "fr"
        tx.keep(None)  # ignored, as a missing verdict on a page is
    statements = []

    def remember(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert juror.locale == "fr" and juror.username == "kept"
        assert statements == []  # no reload
        assert inspect(other).expired  # the commit expired what was not kept
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)


def test_abandon_ends_a_failed_read_outside_a_change_only(app):
    with transaction.atomic(), pytest.raises(RuntimeError):
        transaction.abandon()
    db.session.scalar(select(func.count()).select_from(SandboxFollow))
    transaction.abandon()
    assert not db.session().in_transaction()


# The rule, kept by a scan of the source.

def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in f"/{relative}":
                yield relative, ast.parse(path.read_text(encoding="utf-8"), relative)


def _enclosing_functions(tree):
    """Each node with the name of the outermost function around it (None at module level)."""
    def walk(node, function):
        for child in ast.iter_child_nodes(node):
            inner = function
            if function is None and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = child.name
            yield child, inner
            yield from walk(child, inner)
    yield from walk(tree, None)


def test_only_the_boundary_commits_or_rolls_back_the_session():
    found = []
    for path, tree in _sources():
        if path == BOUNDARY:
            continue
        for node, function in _enclosing_functions(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("commit", "rollback")
                    and ast.unparse(node.func.value).endswith("session")
                    and (path, function) not in ALLOWED):
                found.append(f"{path}:{node.lineno} {ast.unparse(node.func)}()")
    assert found == [], "commit and roll back through triage.transaction.atomic():\n" + "\n".join(found)


def test_the_scan_sees_a_commit():
    tree = ast.parse("def change():\n    db.session.commit()\n")
    calls = [node for node, _ in _enclosing_functions(tree) if isinstance(node, ast.Call)]
    assert [ast.unparse(call.func) for call in calls] == ["db.session.commit"]


def test_no_function_takes_a_commit_alongside_or_queue_flag():
    found = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                found += [f"{path}:{node.lineno} {node.name}({arg.arg}=)" for arg in arguments
                          if arg.arg in FLAG_PARAMETERS or (arg.arg in BOOLEAN_FLAG_PARAMETERS and arg.annotation
                                                            is not None and ast.unparse(arg.annotation) == "bool")]
    assert found == [], "use the boundary (a nested atomic() joins), not a flag:\n" + "\n".join(found)


def test_the_old_commit_helpers_are_gone():
    assert not hasattr(jobs, "commit") and not hasattr(jobs, "discard")
