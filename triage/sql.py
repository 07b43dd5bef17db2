"""Small portable SQL helpers for PostgreSQL and SQLite."""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from jury.extensions import db


def insert_ignore(model: type, rows: Sequence[dict[str, Any]], conflict_columns: Sequence[str],
                  returning: InstrumentedAttribute | None) -> list[Any]:
    """Insert rows, skipping those that collide on a unique key; return `returning` of the new ones.

    ON CONFLICT DO NOTHING makes re-sent ids harmless even when two requests race. Without
    `returning` the rows go as one pipelined executemany of a one-row statement, which the driver
    parses once; with it, as a multi-row VALUES statement that it parses again for every call.
    """
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # The table's Core insert, not the ORM's bulk path, which costs a third more for no gain here
    # (the rows are plain values; nothing is loaded back into the session).
    table = model.__table__
    statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning is None:
        db.session.execute(statement, list(rows))
        return []
    return list(db.session.scalars(statement.returning(table.c[returning.key]), list(rows)).all())
