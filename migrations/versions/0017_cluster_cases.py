"""one case per near-duplicate cluster: the cluster a case decides for, a member verdict's source,
and a cluster's standing verdict and pause

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cluster_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_cluster_id_clusters'), 'clusters', ['cluster_id'], ['id'])
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_verdict_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_verdicts_source_verdict_id'), ['source_verdict_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_verdicts_source_verdict_id_verdicts'), 'verdicts',
                                    ['source_verdict_id'], ['id'])
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verdict_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reversed_verdict_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_clusters_verdict_id_verdicts'), 'verdicts', ['verdict_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_clusters_reversed_verdict_id_verdicts'), 'verdicts',
                                    ['reversed_verdict_id'], ['id'])


def downgrade():
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_clusters_reversed_verdict_id_verdicts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_clusters_verdict_id_verdicts'), type_='foreignkey')
        batch_op.drop_column('reversed_verdict_id')
        batch_op.drop_column('reversed_at')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('verdict_id')
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_verdicts_source_verdict_id_verdicts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_verdicts_source_verdict_id'))
        batch_op.drop_column('source_verdict_id')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_cluster_id_clusters'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_cluster_id'))
        batch_op.drop_column('cluster_id')
