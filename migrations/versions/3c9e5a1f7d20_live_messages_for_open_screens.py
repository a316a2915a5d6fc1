"""live messages for open screens: the database backend of core.live (Redis needs no table)

Revision ID: 3c9e5a1f7d20
Revises: d3a8c5f0b912
Create Date: 2026-12-03 08:20:48

"""
from alembic import op
import sqlalchemy as sa


revision = '3c9e5a1f7d20'
down_revision = 'd3a8c5f0b912'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'live_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=100), nullable=False),
        sa.Column('message', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_live_message')),
        sqlite_autoincrement=True,  # ids never go back on SQLite, even after pruning empties the table
    )
    with op.batch_alter_table('live_message', schema=None) as batch_op:
        batch_op.create_index('ix_live_message_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('live_message', schema=None) as batch_op:
        batch_op.drop_index('ix_live_message_created_at')
    op.drop_table('live_message')
