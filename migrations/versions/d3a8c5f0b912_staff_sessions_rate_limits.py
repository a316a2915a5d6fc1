"""staff sessions (browser sign-ins and staff tokens, ended server-side); rate-limit counters in the database;
kiosk activation links used once

Revision ID: d3a8c5f0b912
Revises: 62a1388be7a7
Create Date: 2026-12-03 09:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd3a8c5f0b912'
down_revision = '62a1388be7a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('device', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind in ('browser', 'token')", name=op.f('ck_staff_session_kind')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_session_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_staff_session_secret_hash'))
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_staff_id'), ['staff_id'], unique=False)


    op.create_table('rate_limit_counter',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counter'))
    )
    with op.batch_alter_table('kiosk_device', schema=None) as batch_op:
        # links issued before this revision may have been used already: treat them as used (issue new ones)
        batch_op.add_column(sa.Column('token_used_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE kiosk_device SET token_used_at = created_at"))


def downgrade():
    with op.batch_alter_table('kiosk_device', schema=None) as batch_op:
        batch_op.drop_column('token_used_at')
    op.drop_table('rate_limit_counter')
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_staff_id'))
    op.drop_table('staff_session')
