"""SQLite's planner statistics (models.sql.refresh_planner_statistics): dealing reads the top of the open
cases' index, not every open case, once the sweeper has analysed the database."""
from __future__ import annotations

import threading

from sqlalchemy import event, select, text

from jury.jurors import users
from jury.tasks import sweeper
from models import Case, User, db, sql
from tests.conftest import PASSWORD, Api, at_once, post_payload, report_payload
from triage import dealing


def _open_cases(app, start: int, count: int) -> None:
    api = Api(app.test_client())
    api.posts(*[post_payload(f"p{i}", f"post number {i}") for i in range(start, start + count)])
    api.reports(*[report_payload(f"r{i}", f"p{i}") for i in range(start, start + count)])


def _dealing_plan(juror) -> list[str]:
    """How the database reads the dealing query a real deal runs (its EXPLAIN QUERY PLAN, top level)."""
    seen = []

    def grab(_conn, _cursor, statement, parameters, _context, _many):
        if "ORDER BY cases.priority DESC" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        assert dealing.deal_next(juror) is not None
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    statement, parameters = seen[0]
    raw = db.session.connection().connection.driver_connection
    return [row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters) if row[1] == 0]


def test_sqlite_deals_from_the_top_of_the_open_cases_index_once_analysed(sqlite_app):
    _open_cases(sqlite_app, 0, 12)
    ann = users.create_user("ann", PASSWORD, "juror")
    bob_id = users.create_user("bob", PASSWORD, "juror").id
    # Never analysed: SQLite takes each state to match a few rows and sorts every open case.
    before = _dealing_plan(ann)
    assert any("ix_cases_dealing" in step for step in before), before
    assert sql.refresh_planner_statistics() is True
    db.session.commit()
    db.session.remove()
    db.engine.dispose()  # a new connection loads the statistics as any other would
    after = _dealing_plan(db.session.get(User, bob_id))
    assert after[0] == "SCAN cases USING INDEX ix_cases_open_by_priority", after
    # The index gives the order whole: no sort, not even of the cases tied at the top (migration 0020).
    assert not any("ORDER BY" in step for step in after), after


def test_statistics_are_taken_again_only_when_the_cases_have_grown_fourfold(sqlite_app):
    assert sql.refresh_planner_statistics() is False  # no case yet: nothing worth reading
    _open_cases(sqlite_app, 0, 5)
    assert sweeper.sweep()["analysed_statistics"] == 1
    assert sweeper.sweep()["analysed_statistics"] == 0
    _open_cases(sqlite_app, 5, 14)  # 19 cases: under four times 5
    assert sweeper.sweep()["analysed_statistics"] == 0
    _open_cases(sqlite_app, 19, 1)  # 20: four times as many
    assert sweeper.sweep()["analysed_statistics"] == 1
    analysed = db.session.scalars(text("SELECT stat FROM sqlite_stat1 WHERE idx = 'sqlite_autoindex_cases_1'")).one()
    assert analysed.split()[0] == str(db.session.scalar(select(db.func.count(Case.id))))


def test_postgresql_is_left_to_its_autovacuum(pg_app):
    _open_cases(pg_app, 0, 3)
    assert sql.refresh_planner_statistics() is False
    assert sweeper.sweep()["analysed_statistics"] == 0


def test_two_sweepers_analysing_one_sqlite_file_at_once_both_finish(sqlite_app):
    """Two sweepers (a second worker, a `flask jury sweep` by hand) find the statistics due at the same
    moment: both reach ANALYZE together, held at a barrier. SQLite takes one writer at a time; the second
    waits its busy timeout for the first instead of failing with "database is locked", and the
    statistics count the cases once."""
    _open_cases(sqlite_app, 0, 6)
    both_due = threading.Barrier(2, timeout=5)

    def hold_at_analyze(_conn, _cursor, statement, _parameters, _context, _many):
        if statement.strip() == "ANALYZE":
            try:
                both_due.wait()
            except threading.BrokenBarrierError:
                pass  # the other sweeper found nothing due: this one runs alone, as it should

    event.listen(db.engine, "before_cursor_execute", hold_at_analyze)
    results: list[dict] = []
    try:
        errors = at_once(sqlite_app, [lambda: results.append(sweeper.sweep()) for _ in range(2)])
    finally:
        event.remove(db.engine, "before_cursor_execute", hold_at_analyze)
    assert errors == []
    assert len(results) == 2
    assert [r["analysed_statistics"] for r in results] == [1, 1]  # both found it due; neither failed
    db.session.remove()
    analysed = db.session.scalars(text("SELECT stat FROM sqlite_stat1 WHERE idx = 'sqlite_autoindex_cases_1'")).all()
    assert [stat.split()[0] for stat in analysed] == ["6"]
    assert sweeper.sweep()["analysed_statistics"] == 0  # current now: the next pass does nothing
