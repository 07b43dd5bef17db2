"""the critical lane: when a case became a credible threat to life, and why

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('critical_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('critical_reason', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_cases_critical_at', ['critical_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_critical_at')
        batch_op.drop_column('critical_reason')
        batch_op.drop_column('critical_at')
