"""lead console: shadow policies and decisions, muted reporters, juror invites

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TS = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        'shadow_policies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('settings', JSON, nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('starts_at', TS, nullable=False),
        sa.Column('ends_at', TS, nullable=False),
        sa.Column('stopped_at', TS, nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_shadow_policies_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shadow_policies')),
    )
    op.create_table(
        'shadow_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shadow_id', sa.Integer(), nullable=False),
        sa.Column('post_id', sa.Integer(), nullable=False),
        sa.Column('would_flag', sa.Boolean(), nullable=False),
        sa.Column('would_hide', sa.Boolean(), nullable=False),
        sa.Column('real_flag', sa.Boolean(), nullable=False),
        sa.Column('real_hide', sa.Boolean(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['shadow_id'], ['shadow_policies.id'],
                                name=op.f('fk_shadow_decisions_shadow_id_shadow_policies')),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_shadow_decisions_post_id_posts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shadow_decisions')),
        sa.UniqueConstraint('shadow_id', 'post_id', name=op.f('uq_shadow_decisions_shadow_id_post_id')),
    )
    with op.batch_alter_table('shadow_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shadow_decisions_shadow_id'), ['shadow_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shadow_decisions_post_id'), ['post_id'], unique=False)
    op.create_table(
        'muted_reporters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.String(length=128), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('muted_by_id', sa.Integer(), nullable=True),
        sa.Column('muted_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['muted_by_id'], ['users.id'], name=op.f('fk_muted_reporters_muted_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_muted_reporters')),
        sa.UniqueConstraint('reporter_id', name=op.f('uq_muted_reporters_reporter_id')),
    )
    op.create_table(
        'juror_invites',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('used_at', TS, nullable=True),
        sa.Column('used_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_juror_invites_created_by_id_users')),
        sa.ForeignKeyConstraint(['used_by_id'], ['users.id'], name=op.f('fk_juror_invites_used_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_juror_invites')),
        sa.UniqueConstraint('nonce', name=op.f('uq_juror_invites_nonce')),
    )
    with op.batch_alter_table('juror_invites', schema=None) as batch_op:
        batch_op.create_index('ix_juror_invites_created', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('juror_invites', schema=None) as batch_op:
        batch_op.drop_index('ix_juror_invites_created')
    op.drop_table('juror_invites')
    op.drop_table('muted_reporters')
    with op.batch_alter_table('shadow_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shadow_decisions_post_id'))
        batch_op.drop_index(batch_op.f('ix_shadow_decisions_shadow_id'))
    op.drop_table('shadow_decisions')
    op.drop_table('shadow_policies')
