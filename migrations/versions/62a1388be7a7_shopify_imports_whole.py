"""Shopify imports whole: SKUs without the apostrophe Shopify writes before all-digit values

Revision ID: 62a1388be7a7
Revises: 5619c377903a
Create Date: 2026-11-24 09:00:00.000000

Data: an import before this revision kept the leading apostrophe of an all-digit SKU ('101), so
the SKU the retailer knows (101) was unknown.  Each such SKU loses it, unless the bare SKU is
already another variant's (then it stays as it is).  The downgrade leaves the data as it is.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '62a1388be7a7'
down_revision = '5619c377903a'
branch_labels = None
depends_on = None

variant = sa.table('variant', sa.column('id', sa.Integer), sa.column('sku', sa.String))


def upgrade():
    connection = op.get_bind()
    quoted = connection.execute(sa.select(variant.c.id, variant.c.sku).where(variant.c.sku.like("'%"))).all()
    bare = {row.id: row.sku[1:].strip() for row in quoted}
    taken = set(connection.scalars(sa.select(variant.c.sku).where(variant.c.sku.in_([sku for sku in bare.values() if sku])))) if bare else set()
    for variant_id, sku in bare.items():
        if sku and sku not in taken:
            connection.execute(variant.update().where(variant.c.id == variant_id).values(sku=sku))
            taken.add(sku)


def downgrade():
    pass
