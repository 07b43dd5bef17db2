"""one word for one verdict method: policies said "majority" where verdicts say "quorum"

Revision ID: 0012
Revises: 0011
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
SETTINGS = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def _rename(table: str, old: str, new: str) -> list[int]:
    """Rewrite verdict_method in every stored settings document of `table`; the ids changed."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, settings FROM {table}").columns(  # noqa: S608 - our own table names
        sa.column("id", sa.Integer), sa.column("settings", SETTINGS))).fetchall()
    changed = []
    for row_id, settings in rows:
        if isinstance(settings, str):
            settings = json.loads(settings)
        if isinstance(settings, dict) and settings.get("verdict_method") == old:
            settings = {**settings, "verdict_method": new}
            bind.execute(sa.text(f"UPDATE {table} SET settings = :settings WHERE id = :id")  # noqa: S608
                         .bindparams(sa.bindparam("settings", type_=SETTINGS)), {"settings": settings, "id": row_id})
            changed.append(row_id)
    return changed


def _record(old: str, new: str, policies: list[int], shadows: list[int]) -> None:
    """An audit event says what was rewritten (the sealer chains it like any other)."""
    if not policies and not shadows:
        return
    op.get_bind().execute(sa.text(
        "INSERT INTO audit_events (created_at, actor, event_type, subject_type, subject_id, payload)"
        " VALUES (:now, 'system', 'policy_vocabulary_changed', 'policy', 'all', :payload)"
    ).bindparams(sa.bindparam("payload", type_=sa.JSON), sa.bindparam("now", type_=TIMESTAMP)),
        {"now": datetime.now(UTC), "payload": {
            "setting": "verdict_method", "from": old, "to": new, "policy_ids": policies, "shadow_ids": shadows}})


def upgrade():
    _record("majority", "quorum", _rename("policies", "majority", "quorum"),
            _rename("shadow_policies", "majority", "quorum"))


def downgrade():
    _record("quorum", "majority", _rename("policies", "quorum", "majority"),
            _rename("shadow_policies", "quorum", "majority"))
