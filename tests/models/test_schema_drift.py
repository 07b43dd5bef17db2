"""The models and the migrations describe the same schema, on both databases."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

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
