"""fair panels, gold answers, juror locale and states

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 08:10:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('opted_out_categories', JSON, nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('state_reason', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_category'), ['category'], unique=False)

    op.create_table('gold_answers',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=True),
    sa.Column('source_case_id', sa.Integer(), nullable=False),
    sa.Column('promoted_by', sa.Integer(), nullable=True),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_gold_answers_case_id_cases')),
    sa.ForeignKeyConstraint(['source_case_id'], ['cases.id'], name=op.f('fk_gold_answers_source_case_id_cases')),
    sa.ForeignKeyConstraint(['promoted_by'], ['users.id'], name=op.f('fk_gold_answers_promoted_by_users')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_gold_answers')),
    sa.UniqueConstraint('source_case_id', name=op.f('uq_gold_answers_source_case_id'))
    )
    op.create_table('account_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.String(length=128), nullable=False),
    sa.Column('account_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_links'))
    )
    op.create_index('ix_account_links_author_account', 'account_links', ['author_id', 'account_id'], unique=True)
    op.create_table('sandbox_follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follower_id', sa.String(length=128), nullable=False),
    sa.Column('followed_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_follows'))
    )
    op.create_index('ix_sandbox_follows_follower_id', 'sandbox_follows', ['follower_id'], unique=False)
    op.create_index('ix_sandbox_follows_followed_id', 'sandbox_follows', ['followed_id'], unique=False)
    op.create_table('relationship_checks',
    sa.Column('author_id', sa.String(length=128), nullable=False),
    sa.Column('supported', sa.Boolean(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('author_id', name=op.f('pk_relationship_checks'))
    )


def downgrade():
    op.drop_table('relationship_checks')
    op.drop_index('ix_sandbox_follows_followed_id', table_name='sandbox_follows')
    op.drop_index('ix_sandbox_follows_follower_id', table_name='sandbox_follows')
    op.drop_table('sandbox_follows')
    op.drop_index('ix_account_links_author_account', table_name='account_links')
    op.drop_table('account_links')
    op.drop_table('gold_answers')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_category'))
        batch_op.drop_column('category')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('state_changed_at')
        batch_op.drop_column('state_reason')
        batch_op.drop_column('opted_out_categories')
        batch_op.drop_column('locale')
