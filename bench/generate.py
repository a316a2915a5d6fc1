"""Generate the benchmark dataset on PostgreSQL: 20,000 products, 100,000 variants with an
EAN-13 each, 50 locations (49 stores and a warehouse), 5,000,000 stock rows and their ledger.

    .venv/bin/python bench/generate.py            # (re)create shelfside_bench from scratch
    .venv/bin/python bench/generate.py --if-needed  # keep it when it is already complete

Steps (each timed; the total is the generation time reported in docs/benchmarks.md):

1. DROP DATABASE ... WITH (FORCE) and CREATE DATABASE (a dedicated database, never the dev one).
2. ``flask --app web db upgrade`` against it (DATABASE_URL in the environment): the real schema.
3. Bulk load.  The big tables are filled server-side with ``INSERT ... SELECT generate_series``
   (no row crosses the wire); the barcodes, whose GS1 check digit is computed by the
   project's own ``inventory.barcodes.check_digit``, are streamed with psycopg 3's
   ``cursor.copy()``.  The indexes and keys of ``stock_level`` and ``stock_movement`` (and the
   foreign keys pointing at them) are dropped before the load and recreated from their
   exact saved definitions afterwards (same names, same columns), which is several times
   faster than maintaining three B-trees row by row.
4. The ledger: one ``receive`` movement per non-zero stock row, so that every row's on hand
   equals the sum of its movements (``inventory.ledger_mismatches()`` holds).  Verified in SQL.
5. An API key with every scope, made by ``accounts.create_api_key`` in an app context;
   the key in clear goes to bench/.state/<db>.json (mode 600, git-ignored) for the load tools.
6. VACUUM ANALYZE (statistics and visibility map, as autovacuum would leave a live database).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common
from common import BENCH_DB, LOCATIONS, PRODUCTS, ROOT, STORES, VARIANTS, VARIANTS_PER_PRODUCT, connect, log

BIG_TABLES = ("stock_level", "stock_movement")
TIMEZONES = ("Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/London", "Europe/Amsterdam", "Europe/Rome", "Europe/Lisbon")
SIZES = ("XS", "S", "M", "L", "XL")
COLOURS = ("Moss", "Ink", "Sand", "Rust", "Chalk", "Slate", "Ochre")


class Timer:
    def __init__(self):
        self.steps: dict[str, float] = {}

    def step(self, name: str):
        timer = self

        class _Step:
            def __enter__(self):
                self.start = time.perf_counter()
                log(f"{name} ...")

            def __exit__(self, *exc):
                timer.steps[name] = round(time.perf_counter() - self.start, 2)
                log(f"{name}: {timer.steps[name]:.1f}s")

        return _Step()


# --- checks ------------------------------------------------------------------------------


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def is_complete() -> tuple[bool, str]:
    """Whether the bench database exists with the expected schema revision, shape and key."""
    state = common.load_state()
    if not state:
        return False, "no state file"
    try:
        with connect() as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            levels = conn.execute("SELECT count(*) FROM stock_level").fetchone()[0]
            variants = conn.execute("SELECT count(*) FROM variant").fetchone()[0]
            key_ok = conn.execute("SELECT count(*) FROM api_key WHERE key_hash = %s AND revoked_at IS NULL", (state.get("api_key_hash"),)).fetchone()[
                0
            ]
    except Exception as exc:
        return False, f"database not usable ({exc.__class__.__name__}: {exc})"
    if revision != head_revision():
        return False, f"schema at {revision}, migrations at {head_revision()}"
    if variants != VARIANTS or levels != VARIANTS * LOCATIONS:
        return False, f"{variants} variants / {levels} stock rows, expected {VARIANTS} / {VARIANTS * LOCATIONS}"
    if not key_ok:
        return False, "API key missing"
    return True, "complete"


# --- the load ----------------------------------------------------------------------------


def recreate_database() -> None:
    with connect("postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def migrate() -> None:
    env = common.app_env()
    subprocess.run([str(common.VENV_BIN / "flask"), "--app", "web", "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def save_and_drop_keys(conn) -> list[tuple[str, str, str]]:
    """Drop the keys and indexes of the big tables (and foreign keys pointing at them);
    answer [(table, kind, sql to recreate)] in the order they must come back."""
    tables = list(BIG_TABLES)
    oids = [row[0] for row in conn.execute("SELECT oid FROM pg_class WHERE relname = ANY(%s) AND relkind = 'r'", (tables,))]
    constraints = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
           FROM pg_constraint c
           WHERE c.contype IN ('p', 'u', 'f') AND (c.conrelid = ANY(%s) OR c.confrelid = ANY(%s))""",
        (oids, oids),
    ).fetchall()
    indexes = conn.execute(
        """SELECT i.indrelid::regclass::text, ci.relname, pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
           WHERE i.indrelid = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
        (oids,),
    ).fetchall()
    restore = []
    # keys first (foreign keys need the referenced primary key), then plain indexes, then foreign keys
    for table, name, kind, definition in sorted(constraints, key=lambda r: "pu".find(r[2]) if r[2] in "pu" else 9):
        if kind in "pu":
            restore.append((table, "key", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for table, name, definition in indexes:
        restore.append((table, "index", definition))
    for table, name, kind, definition in constraints:
        if kind == "f":
            restore.append((table, "foreign key", f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    for table, name, kind, definition in constraints:
        if kind == "f":
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for table, name, definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for table, name, kind, definition in constraints:
        if kind in "pu":
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return restore


def schema_signature(conn) -> list[tuple]:
    """Names and definitions of every constraint and index (to prove the load left the schema as migrated)."""
    rows = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE connamespace = 'public'::regnamespace
           UNION ALL
           SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
           ORDER BY 1, 2"""
    ).fetchall()
    return sorted(tuple(r) for r in rows)


def load(conn, timer: Timer) -> None:
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute("SET work_mem = '64MB'")
    now = "timestamptz '2026-01-05 08:00:00+00'"

    with timer.step("catalogue (categories, products, variants)"):
        with conn.transaction():
            conn.execute("INSERT INTO category (id, name, slug) SELECT c, 'Category ' || c, 'category-' || c FROM generate_series(1, 40) c")
            conn.execute(
                f"""INSERT INTO location (id, code, name, kind, timezone, address, active)
                    SELECT l, 'S' || lpad(l::text, 3, '0'), 'Store ' || l, 'store', (%s::text[])[1 + l %% %s], l || ' High Street', true
                    FROM generate_series(1, {STORES}) l
                    UNION ALL
                    SELECT {STORES + 1}, 'WH01', 'Central warehouse', 'warehouse', 'Europe/Paris', '1 Depot Road', true""",
                (list(TIMEZONES), len(TIMEZONES)),
            )
            conn.execute(
                f"""INSERT INTO product (id, handle, title, description, vendor, category_id, tags, status, search_text, created_at, updated_at)
                    SELECT p, 'bench-product-' || lpad(p::text, 5, '0'), 'Bench product ' || p,
                           'A generated product for the benchmarks.', 'Vendor ' || (p % 97), 1 + p % 40,
                           '["bench"]', 'active', lower('bench product ' || p || ' vendor ' || (p % 97) || ' category ' || (1 + p % 40)),
                           {now}, {now}
                    FROM generate_series(1, {PRODUCTS}) p"""
            )
            conn.execute(
                f"""INSERT INTO variant (id, product_id, sku, title, options, price_amount, compare_at_amount, currency, position)
                    SELECT v, 1 + (v - 1) / {VARIANTS_PER_PRODUCT}, 'SKU-' || lpad(v::text, 6, '0'),
                           (%s::text[])[1 + (v - 1) %% {VARIANTS_PER_PRODUCT} %% 5] || ' / ' || (%s::text[])[1 + ((v - 1) / {VARIANTS_PER_PRODUCT}) %% 7],
                           json_build_object('size', (%s::text[])[1 + (v - 1) %% {VARIANTS_PER_PRODUCT} %% 5],
                                             'color', (%s::text[])[1 + ((v - 1) / {VARIANTS_PER_PRODUCT}) %% 7]),
                           990 + (v %% 200) * 100, NULL, 'EUR', (v - 1) %% {VARIANTS_PER_PRODUCT}
                    FROM generate_series(1, {VARIANTS}) v""",
                (list(SIZES), list(COLOURS), list(SIZES), list(COLOURS)),
            )

    with timer.step("barcodes (COPY)"):
        from inventory.barcodes import check_digit

        with conn.transaction(), conn.cursor() as cur:
            with cur.copy("COPY barcode (id, variant_id, code, symbology) FROM STDIN") as copy:
                for v in range(1, VARIANTS + 1):
                    body = f"20{v:010d}"  # GS1 prefix 20-29: in-store numbers, never a real product's
                    copy.write_row((v, v, body + str(check_digit(body)), "ean13"))

    with timer.step(f"stock levels ({VARIANTS * LOCATIONS:,} rows) and ledger"):
        with conn.transaction():
            restore = save_and_drop_keys(conn)
            # On hand: a deterministic spread, about 27% zeros and the rest 1..30.
            # Physical order (and ids) location by location, as when each store is onboarded
            # with a full count: one store's rows sit together, one SKU's 50 rows lie on 50
            # different pages (what the all-stores availability query has to read).
            conn.execute(
                f"""INSERT INTO stock_level (id, variant_id, location_id, on_hand, reserved, low_stock_threshold, updated_at)
                    SELECT (l - 1) * {VARIANTS} + v, v, l,
                           greatest(0, (abs(hashint8(v::bigint * 64 + l)) % 41) - 10), 0, 2, {now}
                    FROM generate_series(1, {LOCATIONS}) l CROSS JOIN generate_series(1, {VARIANTS}) v
                    ORDER BY l, v"""
            )
            conn.execute(
                f"""INSERT INTO stock_movement (stock_level_id, kind, quantity, on_hand_after, counted, reason, reference, actor_kind, actor_id, created_at)
                    SELECT id, 'receive', on_hand, on_hand, NULL, 'initial stock (bench generator)', 'bench-generate', 'system', NULL, {now}
                    FROM stock_level WHERE on_hand > 0 ORDER BY id"""
            )
        with conn.transaction():
            for table, kind, sql in restore:
                started = time.perf_counter()
                conn.execute(sql)
                log(f"  recreated {kind} on {table} in {time.perf_counter() - started:.1f}s")

    with conn.transaction():  # explicit ids were inserted: move each id sequence past them
        for table in ("category", "location", "product", "variant", "barcode", "stock_level", "stock_movement"):
            sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]
            if sequence:
                conn.execute(f"SELECT setval(%s, (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)", (sequence,))


def create_key() -> tuple[str, str]:
    os.environ.setdefault("SHELFSIDE_INSTANCE_PATH", str(common.STATE_DIR / "instance"))
    from accounts import SCOPES, create_api_key, hash_secret
    from core import db
    from web import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": common.sqlalchemy_url(), "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    with app.app_context():
        _, key = create_api_key("bench load tool", list(SCOPES))
        db.session.commit()
        db.engine.dispose()
    return key, hash_secret(key)


def verify(conn) -> dict:
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("product", "variant", "barcode", "location", "stock_level", "stock_movement")
    }
    mismatches = conn.execute(
        """SELECT count(*) FROM stock_level s
           LEFT JOIN (SELECT stock_level_id, sum(quantity) AS total FROM stock_movement GROUP BY stock_level_id) m
             ON m.stock_level_id = s.id
           WHERE s.on_hand <> coalesce(m.total, 0)"""
    ).fetchone()[0]
    totals = conn.execute("SELECT sum(on_hand), count(*) FILTER (WHERE on_hand = 0) FROM stock_level").fetchone()
    size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    return {"counts": counts, "ledger_mismatches": mismatches, "units_on_hand": int(totals[0]), "zero_rows": totals[1], "database_size": size}


def generate() -> dict:
    timer = Timer()
    started = time.perf_counter()
    with timer.step(f"drop and create database {BENCH_DB}"):
        recreate_database()
    with timer.step("flask --app web db upgrade"):
        migrate()
    with connect() as conn:
        before = schema_signature(conn)
        load(conn, timer)
        after = schema_signature(conn)
        if before != after:
            raise SystemExit(f"the load changed the schema: {sorted(set(before) ^ set(after))}")
    with timer.step("API key"):
        key, key_hash = create_key()
    with timer.step("VACUUM ANALYZE"):
        with connect() as conn:
            conn.execute("VACUUM ANALYZE")
    total = round(time.perf_counter() - started, 1)
    log(f"generated in {total}s; verifying")
    verify_started = time.perf_counter()
    with connect() as conn:
        checks = verify(conn)
    checks["verify_seconds"] = round(time.perf_counter() - verify_started, 1)
    if checks["ledger_mismatches"]:
        raise SystemExit(f"ledger mismatch on {checks['ledger_mismatches']} stock rows")
    from accounts import SCOPES

    state = {
        "database": BENCH_DB,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "generation_seconds": total,
        "steps": timer.steps,
        "shape": {"products": PRODUCTS, "variants": VARIANTS, "locations": LOCATIONS, "stores": STORES},
        "checks": checks,
        "schema_revision": head_revision(),
        "api_key": key,
        "api_key_hash": key_hash,
        "api_key_scopes": list(SCOPES),
    }
    common.save_state(state)
    log(json.dumps({k: v for k, v in state.items() if not k.startswith("api_key")}, indent=2))
    return state


def ensure(force: bool = False) -> dict:
    """The bench database's state, generating it first when it is missing or incomplete."""
    if not force:
        complete, why = is_complete()
        if complete:
            log(f"{BENCH_DB} is complete; not regenerating (use --force to rebuild)")
            return common.load_state()
        log(f"generating {BENCH_DB}: {why}")
    return generate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--if-needed", action="store_true", help="keep the database when it is already complete")
    args = parser.parse_args()
    with common.exclusive("generate"):
        ensure(force=not args.if_needed)


if __name__ == "__main__":
    main()
