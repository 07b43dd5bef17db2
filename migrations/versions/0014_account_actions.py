"""account actions in the outbox: a suspension's days, the strikes and verdicts behind a measure

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('strike_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('verdict_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_column('verdict_ids')
        batch_op.drop_column('strike_count')
        batch_op.drop_column('duration_days')
