"""who did it: ledger lines and reservations refer to their actor (kind + id) instead of free text

Revision ID: b7d1e4a92c10
Revises: 5619c377903a
Create Date: 2026-12-03 08:40:00

"""
import re

from alembic import op
import sqlalchemy as sa


revision = 'b7d1e4a92c10'
down_revision = '5619c377903a'
branch_labels = None
depends_on = None

TABLES = ("stock_movement", "reservation")
_REF = re.compile(r"^(staff|api_key|kiosk):(\d+)\b")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('actor_kind', sa.String(length=20), nullable=False, server_default='system'))
            batch.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        connection = op.get_bind()
        rows = connection.execute(sa.text(f"SELECT DISTINCT actor FROM {table} WHERE actor LIKE '%:%'")).all()
        for (text,) in rows:
            match = _REF.match(text or "")
            if match:
                connection.execute(
                    sa.text(f"UPDATE {table} SET actor_kind = :kind, actor_id = :id WHERE actor = :actor"),
                    {"kind": match.group(1), "id": int(match.group(2)), "actor": text},
                )
        with op.batch_alter_table(table) as batch:
            batch.alter_column('actor_kind', server_default=None)
            batch.drop_column('actor')


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('actor', sa.String(length=120), nullable=False, server_default=''))
        op.execute(sa.text(f"UPDATE {table} SET actor = CASE WHEN actor_id IS NULL THEN actor_kind ELSE actor_kind || ':' || actor_id END"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column('actor', server_default=None)
            batch.drop_column('actor_id')
            batch.drop_column('actor_kind')
