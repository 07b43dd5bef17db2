"""verdict follow-up: a verdict's actions are created by a job after the deciding vote

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_up_enqueued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('followed_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_verdicts_followed_up_at'), ['followed_up_at'], unique=False)
    # Verdicts recorded before this revision got their actions in the deciding transaction.
    op.execute("UPDATE verdicts SET followed_up_at = decided_at, follow_up_enqueued_at = decided_at")


def downgrade():
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verdicts_followed_up_at'))
        batch_op.drop_column('followed_up_at')
        batch_op.drop_column('follow_up_enqueued_at')
