"""one active seat per juror: a unique partial index on assignments

Revision ID: 0010
Revises: 0009
"""
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

WHERE_ACTIVE = "state = 'active'"
# As the models store timestamps (models.base.UTCDateTime), so SQLite keeps the same text form.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade():
    bind = op.get_bind()
    # Two "next case" requests at once could deal a juror two active seats. Keep each juror's
    # newest and give the others back to their cases, as an expiry would (with its audit event).
    extra = bind.execute(sa.text(
        "SELECT a.id, a.case_id, a.juror_id FROM assignments a WHERE a.state = 'active' AND EXISTS ("
        " SELECT 1 FROM assignments b WHERE b.juror_id = a.juror_id AND b.state = 'active'"
        " AND (b.leased_at > a.leased_at OR (b.leased_at = a.leased_at AND b.id > a.id)))"
        " ORDER BY a.case_id")).fetchall()
    now = datetime.now(UTC)
    for seat_id, case_id, juror_id in extra:
        bind.execute(sa.text("UPDATE assignments SET state = 'expired', released_at = :now WHERE id = :id")
                     .bindparams(sa.bindparam("now", type_=TIMESTAMP)), {"now": now, "id": seat_id})
        bind.execute(sa.text("UPDATE cases SET open_seats = open_seats + 1 WHERE id = :id"), {"id": case_id})
        # Written unsealed: the audit sealer chains it like any other event.
        bind.execute(sa.text(
            "INSERT INTO audit_events (created_at, actor, event_type, subject_type, subject_id, payload)"
            " VALUES (:now, 'system', 'seat_expired', 'case', :case_id, :payload)"
        ).bindparams(sa.bindparam("payload", type_=sa.JSON), sa.bindparam("now", type_=TIMESTAMP)),
            {"now": now, "case_id": str(case_id), "payload": json.loads(json.dumps({"juror": juror_id}))})
    op.create_index('uq_assignments_one_live_seat', 'assignments', ['juror_id'], unique=True,
                    postgresql_where=sa.text(WHERE_ACTIVE), sqlite_where=sa.text(WHERE_ACTIVE))


def downgrade():
    op.drop_index('uq_assignments_one_live_seat', table_name='assignments')
