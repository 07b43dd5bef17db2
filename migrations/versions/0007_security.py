"""security: login lockout columns and the intake replay cache

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table('signature_nonces',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_signature_nonces'))
    )
    with op.batch_alter_table('signature_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_nonces_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('signature_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_nonces_expires_at'))
    op.drop_table('signature_nonces')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
