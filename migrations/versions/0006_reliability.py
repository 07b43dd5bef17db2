"""juror reliability (Dawid-Skene) and the posterior behind each verdict

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('reliability_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.Column('jurors', sa.Integer(), nullable=False),
    sa.Column('known', sa.Integer(), nullable=False),
    sa.Column('verdicts', sa.Integer(), nullable=False),
    sa.Column('iterations', sa.Integer(), nullable=False),
    sa.Column('log_likelihood', sa.Float(), nullable=False),
    sa.Column('prior_intercept', sa.Float(), nullable=False),
    sa.Column('prior_slope', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reliability_runs'))
    )
    op.create_table('juror_reliability',
    sa.Column('juror_id', sa.Integer(), nullable=False),
    sa.Column('sensitivity', sa.Float(), nullable=False),
    sa.Column('specificity', sa.Float(), nullable=False),
    sa.Column('votes', sa.Float(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('estimated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['juror_id'], ['users.id'], name=op.f('fk_juror_reliability_juror_id_users')),
    sa.ForeignKeyConstraint(['run_id'], ['reliability_runs.id'], name=op.f('fk_juror_reliability_run_id_reliability_runs')),
    sa.PrimaryKeyConstraint('juror_id', name=op.f('pk_juror_reliability'))
    )
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('posterior', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('weights', JSON, nullable=True))


def downgrade():
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_column('weights')
        batch_op.drop_column('posterior')
    op.drop_table('juror_reliability')
    op.drop_table('reliability_runs')
