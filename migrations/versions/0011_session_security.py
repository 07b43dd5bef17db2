"""session security: revocable sessions, case-blind usernames, vote disclosures, opaque appeal links

Revision ID: 0011
Revises: 0010
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


class UsernameClash(RuntimeError):
    """Two accounts differ only by case; a person must choose which one to rename."""


def _refuse_username_clashes(bind) -> None:
    clashes = bind.execute(sa.text(
        "SELECT lower(username) AS name, count(*) FROM users GROUP BY lower(username) HAVING count(*) > 1"
        " ORDER BY 1")).fetchall()
    if clashes:
        names = ", ".join(f"{name!r} ({count} accounts)" for name, count in clashes)
        raise UsernameClash(
            f"usernames must now be unique regardless of case, and these are not: {names}. Rename all but "
            "one account of each name and run the upgrade again; nothing was changed.")


def upgrade():
    bind = op.get_bind()
    _refuse_username_clashes(bind)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), server_default='', nullable=False))
    # An expression index, made and dropped outside batch mode: SQLite's reflection cannot see it.
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)
    # Every account gets a token of its own; sessions issued before this carry none and end.
    for (user_id,) in bind.execute(sa.text("SELECT id FROM users")).fetchall():
        bind.execute(sa.text("UPDATE users SET session_token = :token WHERE id = :id"),
                     {"token": secrets.token_urlsafe(24), "id": user_id})

    op.create_table('vote_disclosures',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_vote_disclosures_case_id_cases')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_vote_disclosures_user_id_users')),
    sa.PrimaryKeyConstraint('case_id', 'user_id', name=op.f('pk_vote_disclosures'))
    )
    with op.batch_alter_table('vote_disclosures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vote_disclosures_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appeal_ref', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_verdicts_appeal_ref'), ['appeal_ref'], unique=True)
    # Links already sent name their verdict's id and keep working; new ones name this instead.
    for (verdict_id,) in bind.execute(sa.text("SELECT id FROM verdicts WHERE appeal_ref IS NULL")).fetchall():
        bind.execute(sa.text("UPDATE verdicts SET appeal_ref = :ref WHERE id = :id"),
                     {"ref": secrets.token_urlsafe(16), "id": verdict_id})


def downgrade():
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verdicts_appeal_ref'))
        batch_op.drop_column('appeal_ref')
    with op.batch_alter_table('vote_disclosures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_disclosures_user_id'))
    op.drop_table('vote_disclosures')
    op.drop_index('uq_users_username_lower', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
