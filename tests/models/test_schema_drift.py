"""The models and the migrations describe the same schema, on both databases."""
from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from models import Base

# An expression index (priority DESC): autogenerate can only approximate it and reports it as changed.
EXPRESSION_INDEXES = {"ix_cases_open_by_priority", "uq_users_username_lower"}


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    return [d for d in found if not (d[0] in ("add_index", "remove_index") and d[1].name in EXPRESSION_INDEXES)]


def test_the_migrated_sqlite_schema_matches_the_models(sqlite_template):
    assert _differences(f"sqlite:///{sqlite_template}") == []


@pytest.mark.postgres
def test_the_migrated_postgresql_schema_matches_the_models(pg_migrated):
    assert _differences(pg_migrated) == []


# Dealing orders by priority DESC, id: an index that lost its DESC (SQLite's batch migrations rebuild a
# table's indexes from reflection, which drops it) makes every deal sort the cases tied at the top.
DEALING_INDEX_COLUMNS = "(priority DESC, id)"
SQLITE_INDEX = "SELECT sql FROM sqlite_master WHERE name = 'ix_cases_open_by_priority'"
POSTGRESQL_INDEX = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_cases_open_by_priority'"


def test_the_sqlite_dealing_index_keeps_priority_descending(sqlite_template):
    with sqlite3.connect(sqlite_template) as conn:
        (definition,) = conn.execute(SQLITE_INDEX).fetchone()
    assert DEALING_INDEX_COLUMNS in definition
    assert "WHERE state IN ('queued', 'in_review') AND open_seats > 0" in definition


@pytest.mark.postgres
def test_the_postgresql_dealing_index_keeps_priority_descending(pg_migrated):
    engine = create_engine(pg_migrated)
    try:
        with engine.connect() as conn:
            definition = conn.scalar(text(POSTGRESQL_INDEX))
    finally:
        engine.dispose()
    assert DEALING_INDEX_COLUMNS in definition and "open_seats > 0" in definition


# Case-blind usernames rest on an expression index, which Alembic's batch mode skips when it rebuilds a
# table on SQLite (the SAWarning at every migration): a rebuild of `users` would drop it silently.
USERNAME_INDEX = "uq_users_username_lower"


def test_the_sqlite_case_blind_username_index_survives_the_migrations(sqlite_template):
    with sqlite3.connect(sqlite_template) as conn:
        (definition,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (USERNAME_INDEX,)).fetchone()
    assert definition == f"CREATE UNIQUE INDEX {USERNAME_INDEX} ON users (lower(username))"


@pytest.mark.postgres
def test_the_postgresql_case_blind_username_index_survives_the_migrations(pg_migrated):
    engine = create_engine(pg_migrated)
    try:
        with engine.connect() as conn:
            definition = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                                     {"name": USERNAME_INDEX})
    finally:
        engine.dispose()
    assert "CREATE UNIQUE INDEX" in definition and "lower((username)::text)" in definition
