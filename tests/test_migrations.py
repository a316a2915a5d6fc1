"""The Alembic migrations and the models describe the same schema; data migrations do what they say."""

from contextlib import contextmanager

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from core import db

SHOPIFY_IMPORTS = "62a1388be7a7"


def test_models_and_migrations_agree(app):
    # the session's database was created by `flask db upgrade` (see conftest.py)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@contextmanager
def schema_before(revision):
    """The session's database downgraded to just before ``revision``; back at head afterwards (with empty tables)."""
    migrate = current_app.extensions["migrate"].migrate
    previous = ScriptDirectory.from_config(migrate.get_config()).get_revision(revision).down_revision
    db.session.remove()
    downgrade(revision=previous)
    try:
        yield
    finally:
        db.session.remove()
        upgrade()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


def _insert_product(connection, product_id, handle, skus, category_id="NULL"):
    connection.execute(
        text(
            "INSERT INTO product (id, handle, title, description, vendor, category_id, tags, status, search_text, created_at, updated_at) "
            f"VALUES ({product_id}, '{handle}', '{handle}', '', '', {category_id}, '[]', 'active', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    )
    for position, sku in enumerate(skus):
        quoted = sku.replace("'", "''")
        connection.execute(
            text(
                "INSERT INTO variant (product_id, sku, title, options, price_amount, currency, position) "
                f"VALUES ({product_id}, '{quoted}', '', '{{}}', 100, 'EUR', {position})"
            )
        )


def test_upgrade_takes_the_apostrophe_off_all_digit_skus_an_earlier_import_kept():
    with schema_before(SHOPIFY_IMPORTS):
        with db.engine.begin() as connection:
            _insert_product(connection, 1, "tee", ["'101", "'102", "102", "TEE-S"])
        upgrade(revision=SHOPIFY_IMPORTS)
        with db.engine.connect() as connection:
            skus = connection.scalars(text("SELECT sku FROM variant ORDER BY position")).all()
    assert skus == ["101", "'102", "102", "TEE-S"]  # '102 stays: 102 is another variant's


def test_upgrade_gives_categories_the_slugs_of_their_names_in_every_script_and_merges_those_that_now_share_one():
    with schema_before(SHOPIFY_IMPORTS):
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO category (id, name, slug) VALUES "
                    "(1, 'Платья', 'item'), (2, 'Straße', 'strae'), (3, 'Strasse', 'strasse'), (4, 'Café', 'cafe'), (5, 'Jackets', 'jackets')"
                )
            )
            _insert_product(connection, 1, "dress", ["DRESS-1"], category_id=1)
            _insert_product(connection, 2, "street-map", ["MAP-1"], category_id=3)
        upgrade(revision=SHOPIFY_IMPORTS)
        with db.engine.connect() as connection:
            categories = connection.execute(text("SELECT id, name, slug FROM category ORDER BY id")).all()
            filed = connection.execute(text("SELECT handle, category_id FROM product ORDER BY id")).all()
    assert [tuple(row) for row in categories] == [(1, "Платья", "платья"), (2, "Straße", "strasse"), (4, "Café", "café"), (5, "Jackets", "jackets")]
    assert [tuple(row) for row in filed] == [("dress", 1), ("street-map", 2)]
