"""near-duplicate clusters: clusters, their LSH band keys, and each post's fingerprint and cluster

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('representative_post_id', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['representative_post_id'], ['posts.id'],
                            name=op.f('fk_clusters_representative_post_id_posts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters'))
    )
    # An index of band keys, not a record: no foreign key to maintain on its tens of millions of rows.
    op.create_table('cluster_bands',
    sa.Column('band_key', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('band_key', name=op.f('pk_cluster_bands'))
    )
    # Posts stored before this release keep no fingerprint and no cluster: clustering starts with
    # the posts that arrive after it.
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cluster_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cluster_similarity', sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f('ix_posts_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_posts_cluster_id_clusters'), 'clusters', ['cluster_id'], ['id'])


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_posts_cluster_id_clusters'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_posts_cluster_id'))
        batch_op.drop_column('cluster_similarity')
        batch_op.drop_column('cluster_id')
        batch_op.drop_column('fingerprint')
    op.drop_table('cluster_bands')
    op.drop_table('clusters')
