"""returns, return lines and refunds (sale_return, sale_return_line, refund)

Revision ID: cbd4d3556eb4
Revises: edaab97f9928
Create Date: 2026-12-04 01:24:12.942435

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cbd4d3556eb4'
down_revision = 'edaab97f9928'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sale_return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=40), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_refunded', sa.Integer(), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('actor_kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('total_refunded >= 0', name=op.f('ck_sale_return_total_refunded_not_negative')),
    sa.ForeignKeyConstraint(['approved_by'], ['staff.id'], name=op.f('fk_sale_return_approved_by_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_sale_return_location_id_location')),
    sa.ForeignKeyConstraint(['order_id'], ['sale_order.id'], name=op.f('fk_sale_return_order_id_sale_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_return')),
    sa.UniqueConstraint('public_id', name=op.f('uq_sale_return_public_id'))
    )
    with op.batch_alter_table('sale_return', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_return_order_id'), ['order_id'], unique=False)

    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('gateway_refund_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind in ('cash', 'card', 'qr')", name=op.f('ck_refund_kind')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_refund_payment_id_payment')),
    sa.ForeignKeyConstraint(['return_id'], ['sale_return.id'], name=op.f('fk_refund_return_id_sale_return'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shift_id'], ['shift.id'], name=op.f('fk_refund_shift_id_shift')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('gateway_refund_id', name=op.f('uq_refund_gateway_refund_id'))
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_return_id'), ['return_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_shift_id'), ['shift_id'], unique=False)

    op.create_table('sale_return_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('restock', sa.Boolean(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_sale_return_line_amount_not_negative')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_sale_return_line_quantity_positive')),
    sa.ForeignKeyConstraint(['order_line_id'], ['sale_order_line.id'], name=op.f('fk_sale_return_line_order_line_id_sale_order_line')),
    sa.ForeignKeyConstraint(['return_id'], ['sale_return.id'], name=op.f('fk_sale_return_line_return_id_sale_return'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_return_line'))
    )
    with op.batch_alter_table('sale_return_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_return_line_order_line_id'), ['order_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sale_return_line_return_id'), ['return_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sale_return_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_return_line_return_id'))
        batch_op.drop_index(batch_op.f('ix_sale_return_line_order_line_id'))

    op.drop_table('sale_return_line')
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_shift_id'))
        batch_op.drop_index(batch_op.f('ix_refund_return_id'))
        batch_op.drop_index(batch_op.f('ix_refund_payment_id'))

    op.drop_table('refund')
    with op.batch_alter_table('sale_return', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_return_order_id'))

    op.drop_table('sale_return')
