"""customer name search: a trigram index on the folded name (PostgreSQL: pg_trgm GIN)

Customer search (``clienteling.search_page``) matches names whose words start with the query's
words: ``search_name LIKE 'word%' OR search_name LIKE '% word%'``.  The btree index cannot
answer the second pattern; a pg_trgm GIN index answers both, so a search stays fast at 200,000
customers (bench/customer_search.py).  On SQLite the same index is a plain one (SQLite ignores
the PostgreSQL options), so that the models and migrations agree on both databases.

Revision ID: 5aa86d8c5053
Revises: 47731506a689
Create Date: 2026-12-03 19:18:09.773224

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5aa86d8c5053'
down_revision = '47731506a689'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension since PostgreSQL 13
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(
            'ix_customer_search_name_trgm', ['search_name'], unique=False, postgresql_using='gin', postgresql_ops={'search_name': 'gin_trgm_ops'}
        )


def downgrade():
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_search_name_trgm')
    # the extension stays: other objects may use it
