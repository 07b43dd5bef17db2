"""reliability runs keep a second model-score calibration, for reported cases

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    # Null on the runs before it: they fitted one calibration for every case, which stands for both.
    with op.batch_alter_table('reliability_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prior_reported_intercept', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('prior_reported_slope', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('reliability_runs', schema=None) as batch_op:
        batch_op.drop_column('prior_reported_slope')
        batch_op.drop_column('prior_reported_intercept')
