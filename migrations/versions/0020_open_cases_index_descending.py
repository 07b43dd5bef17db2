"""SQLite: the open cases' dealing index sorts by priority descending again

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# On SQLite, a batch migration that rebuilds the cases table (0017's foreign key did) re-creates its
# indexes from reflection, which loses a column's DESC: ix_cases_open_by_priority became
# (priority, id). Dealing orders by priority DESC, id, so SQLite read the index backwards and sorted
# every case tied at the top priority by id (all the overdue ones, whose priorities stop rising at
# their deadline) to deal one. PostgreSQL altered the table in place and kept the index as written.
INDEX = ("CREATE INDEX ix_cases_open_by_priority ON cases (priority DESC, id) "
         "WHERE state IN ('queued', 'in_review') AND open_seats > 0")


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP INDEX IF EXISTS ix_cases_open_by_priority')
        op.execute(INDEX)


def downgrade():
    pass  # the index as 0001 meant it to be: nothing earlier needs it otherwise
