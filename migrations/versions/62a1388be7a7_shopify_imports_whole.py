"""Shopify imports whole: variant.sku_generated, SKUs without Shopify's apostrophe, category slugs in every script

Revision ID: 62a1388be7a7
Revises: b7d1e4a92c10
Create Date: 2026-11-24 09:00:00.000000

Schema: ``variant.sku_generated`` (false for every variant there is): true when Shelfside made the
SKU up because the import brought none.

Data:
- An import before this revision kept the leading apostrophe of an all-digit SKU ('101), so the
  SKU the retailer knows (101) was unknown.  Each such SKU loses it, unless the bare SKU is
  already another variant's (then it stays as it is).
- Category slugs were ASCII-folded: every name in a non-Latin script became "item" (one
  category), "Café" and "Cafe" one slug.  Each category gets the slug ``inventory.slugify`` now
  gives its name (a copy of it is frozen below: migrations import no app code); categories whose
  names now share a slug ("Straße" and "Strasse") become the oldest one, with all their products.
  Products filed under the old "item" category stay in it (it keeps the first name it was given)
  until they are imported or PUT again.
The downgrade drops ``variant.sku_generated`` and leaves the data as it is.
"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '62a1388be7a7'
down_revision = 'b7d1e4a92c10'
branch_labels = None
depends_on = None

variant = sa.table('variant', sa.column('id', sa.Integer), sa.column('sku', sa.String))
category = sa.table('category', sa.column('id', sa.Integer), sa.column('name', sa.String), sa.column('slug', sa.String))
product = sa.table('product', sa.column('id', sa.Integer), sa.column('category_id', sa.Integer))


def slugify(text):
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    slug = "".join(ch if unicodedata.category(ch)[0] in "LMN" else "-" for ch in folded)
    return re.sub(r"-{2,}", "-", slug).strip("-")[:200].rstrip("-") or "item"


def upgrade():
    with op.batch_alter_table('variant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sku_generated', sa.Boolean(), server_default=sa.false(), nullable=False))
    connection = op.get_bind()
    _unquote_skus(connection)
    _reslug_categories(connection)


def _unquote_skus(connection):
    quoted = connection.execute(sa.select(variant.c.id, variant.c.sku).where(variant.c.sku.like("'%"))).all()
    bare = {row.id: row.sku[1:].strip() for row in quoted}
    taken = set(connection.scalars(sa.select(variant.c.sku).where(variant.c.sku.in_([sku for sku in bare.values() if sku])))) if bare else set()
    for variant_id, sku in bare.items():
        if sku and sku not in taken:
            connection.execute(variant.update().where(variant.c.id == variant_id).values(sku=sku))
            taken.add(sku)


def _reslug_categories(connection):
    survivors = {}  # new slug -> id of the oldest category with it
    for category_id, name in connection.execute(sa.select(category.c.id, category.c.name).order_by(category.c.id)).all():
        slug = slugify(name)
        if slug in survivors:
            connection.execute(product.update().where(product.c.category_id == category_id).values(category_id=survivors[slug]))
            connection.execute(category.delete().where(category.c.id == category_id))
        else:
            survivors[slug] = category_id
    # in two steps, so that no slug is briefly another category's
    for slug, category_id in survivors.items():
        connection.execute(category.update().where(category.c.id == category_id).values(slug=f"~{category_id}"))
    for slug, category_id in survivors.items():
        connection.execute(category.update().where(category.c.id == category_id).values(slug=slug))


def downgrade():
    with op.batch_alter_table('variant', schema=None) as batch_op:
        batch_op.drop_column('sku_generated')
