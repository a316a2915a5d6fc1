"""Processed payment gateway events: each Stripe event id acted on once (unique per gateway)

Revision ID: edaab97f9928
Revises: 756430e1e2b4
Create Date: 2026-12-04 01:27:02.904114

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'edaab97f9928'
down_revision = '756430e1e2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('processed_gateway_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('gateway', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_processed_gateway_event_payment_id_payment'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processed_gateway_event')),
    sa.UniqueConstraint('gateway', 'event_id', name=op.f('uq_processed_gateway_event_gateway_event_id'))
    )
    with op.batch_alter_table('processed_gateway_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_gateway_event_payment_id'), ['payment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('processed_gateway_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_gateway_event_payment_id'))

    op.drop_table('processed_gateway_event')
