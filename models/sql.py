"""Small portable SQL helpers for PostgreSQL and SQLite."""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Table, and_, bindparam, cast, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from models.database import db


def insert_ignore(model: type, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str],
                  returning: InstrumentedAttribute | None) -> list[Any]:
    """Insert rows (each with the same keys), skipping those that collide on a unique key; return
    `returning` of the new ones.

    ON CONFLICT DO NOTHING makes re-sent ids harmless even when two requests race.
    """
    if not rows:
        return []
    table = model.__table__
    dialect = db.session.get_bind().dialect.name
    columns = tuple(rows[0])
    if dialect == "postgresql" and _unnest_fits(table, columns):
        return _insert_unnest(table, rows, columns, tuple(conflict_columns),
                              returning.key if returning is not None else None)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The table's Core insert, not the ORM's bulk path, which costs a third more for no gain here
    # (the rows are plain values; nothing is loaded back into the session).
    statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning is None:
        db.session.execute(statement, list(rows))
        return []
    return list(db.session.scalars(statement.returning(table.c[returning.key]), list(rows)).all())


def upsert_filling(model: type, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str],
                   fill_columns: Sequence[str], touch_columns: Sequence[str] = ()) -> None:
    """Insert rows (each with the same keys); where one collides on a unique key, set each of
    `fill_columns` that the row gives a value for (not None) and that differs, and then also the
    `touch_columns` (an updated_at) from the row.

    ON CONFLICT DO UPDATE makes two requests that race on a new key store one row. A row with
    nothing new changes nothing: no write, no row lock held to the end of the transaction. Callers
    send each key once per call (PostgreSQL refuses to update one row twice in one statement) and
    in a stable order (two transactions then lock shared rows in the same order).
    """
    # Rows that bring nothing to fill only need to exist: one insert that skips known keys (on
    # PostgreSQL a single unnest statement), where a row-by-row upsert cost intake a third of its speed.
    bare = [row for row in rows if all(row.get(name) is None for name in fill_columns)]
    insert_ignore(model, bare, conflict_columns, None)
    rows = [row for row in rows if any(row.get(name) is not None for name in fill_columns)]
    if not rows:
        return
    table = model.__table__
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    new = insert.excluded
    changed = [and_(new[name].is_not(None), table.c[name].is_distinct_from(new[name])) for name in fill_columns]
    values = {name: func.coalesce(new[name], table.c[name]) for name in fill_columns}
    values.update({name: new[name] for name in touch_columns})
    statement = insert.on_conflict_do_update(index_elements=list(conflict_columns), set_=values, where=or_(*changed))
    db.session.execute(statement, list(rows))


def _unnest_fits(table: Table, columns: tuple[str, ...]) -> bool:
    """Whether the rows can travel as one PostgreSQL array per column: not JSON values (they are
    not plain lists), and no left-out column whose default is SQL that Core's insert would run."""
    if any(isinstance(table.c[name].type, (JSON, postgresql.JSONB)) for name in columns):
        return False
    return not any(column.default is not None and column.default.is_clause_element
                   for column in table.columns if column.name not in columns)


def _insert_unnest(table: Table, rows: Sequence[dict[str, Any]], columns: tuple[str, ...],
                   conflict_columns: tuple[str, ...], returning: str | None) -> list[Any]:
    """The rows as one array per column, unnested by PostgreSQL: one short statement whatever the
    batch size, so psycopg parses it once and the server prepares it, where a multi-row VALUES
    with hundreds of parameters was parsed again on every call (a third of a batch's time)."""
    defaults = _python_defaults(table, columns)
    names = columns + tuple(defaults)
    statement = _unnest_statement(table, names, conflict_columns, returning)
    values = {}
    for index, name in enumerate(names):
        if name in defaults:
            # What Core's insert would fill in: the model's Python-side default, per row.
            values[f"c{index}"] = [defaults[name]() for _ in rows]
        else:
            values[f"c{index}"] = [row[name] for row in rows]
    result = db.session.execute(statement, values)
    return list(result.scalars().all()) if returning is not None else []


def _python_defaults(table: Table, columns: tuple[str, ...]) -> dict[str, Any]:
    """The Python-side defaults (`default=` on the model) of the columns the rows leave out."""
    defaults = {}
    for column in table.columns:
        default = column.default
        if column.name in columns or default is None or default.is_sequence or column.primary_key:
            continue
        if default.is_callable:
            defaults[column.name] = lambda arg=default.arg: arg(None)
        elif not default.is_clause_element:
            defaults[column.name] = lambda value=default.arg: value
    return defaults


@lru_cache(maxsize=64)
def _unnest_statement(table: Table, columns: tuple[str, ...], conflict_columns: tuple[str, ...],
                      returning: str | None):
    """INSERT ... SELECT FROM unnest(CAST(:c0 AS type[]), ...) ON CONFLICT DO NOTHING, built once."""
    # Typed as arrays of the columns' own types, so each value gets the column's bind processing
    # (UTCDateTime's naive-is-UTC rule) as in a plain insert.
    arrays = [cast(bindparam(f"c{index}", type_=postgresql.ARRAY(table.c[name].type)),
                   postgresql.ARRAY(table.c[name].type))
              for index, name in enumerate(columns)]
    source = func.unnest(*arrays).table_valued(*columns).render_derived()
    statement = postgresql.insert(table).from_select(list(columns), select(*source.c))
    statement = statement.on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning is not None:
        statement = statement.returning(table.c[returning])
    return statement


def is_deadlock(error: BaseException) -> bool:
    """Whether a database error is PostgreSQL aborting this transaction to break a deadlock (40P01)."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) == "40P01"


# The two-key form, pg_advisory_xact_lock(integer, integer): a namespace, then the id.
_ADVISORY_LOCKS = text("SELECT count(pg_advisory_xact_lock(CAST(:namespace AS integer), id)) "
                       "FROM (SELECT DISTINCT unnest(CAST(:ids AS integer[])) AS id ORDER BY id) AS ordered")


def advisory_locks(namespace: int, ids: Sequence[int]) -> None:
    """Take PostgreSQL's transaction-scoped advisory lock (namespace, id) for each id, in id order, in one
    statement (a round trip per id cost a report batch of 500 posts 500 round trips). Nothing on SQLite,
    which has one writer at a time. In id order, so two transactions locking overlapping ids never wait
    for each other in a circle."""
    if ids and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_ADVISORY_LOCKS, {"namespace": namespace, "ids": sorted({int(i) for i in ids})})


# SQLite keeps no statistics of its own (PostgreSQL's autovacuum analyses tables as they grow). Without
# them its planner takes an equality on an indexed column to match about ten rows, and so read the
# dealing query's open cases through ix_cases_dealing (state, priority) and sorted all of them, not the
# top eight of ix_cases_open_by_priority: 65 ms a deal at 26,000 open cases instead of 0.2 ms
# (benchmarks/RESULTS.md, *Dealing on SQLite*). Once analysed, at any size, it reads the top.
STATISTICS_TABLE = "cases"
# Analyse again once the table is this many times larger than when last analysed (by its highest id).
STATISTICS_STALE_FACTOR = 4
_STAT_TABLE_EXISTS = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
# Each row's stat starts with the rows the index held when analysed (a partial index: fewer).
_ANALYSED_ROWS = text("SELECT stat FROM sqlite_stat1 WHERE tbl = :table AND idx IS NOT NULL")


def refresh_planner_statistics() -> bool:
    """On SQLite, ANALYZE the database when the cases table has never been analysed with rows in it, or has
    grown STATISTICS_STALE_FACTOR times since; return whether it ran (in the caller's transaction).
    Nothing on PostgreSQL. Cheap when nothing is due (an index read and a small table's), so the
    sweeper calls it on every pass."""
    session = db.session
    if session.get_bind().dialect.name != "sqlite":
        return False
    rows = session.scalar(text(f"SELECT max(rowid) FROM {STATISTICS_TABLE}")) or 0  # noqa: S608 - a constant name
    if not rows:
        return False
    analysed = 0
    if session.execute(_STAT_TABLE_EXISTS).first() is not None:
        stats = session.scalars(_ANALYSED_ROWS, {"table": STATISTICS_TABLE}).all()
        analysed = max((int(stat.split()[0]) for stat in stats if stat), default=0)
    if analysed and rows < analysed * STATISTICS_STALE_FACTOR:
        return False
    session.execute(text("ANALYZE"))
    return True
