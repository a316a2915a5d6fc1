"""Availability with nothing but Flask and psycopg 3: what the database and the bare HTTP stack cost.

    BENCH_RAW_DSN='host=127.0.0.1 user=postgres dbname=shelfside_bench' \\
        gunicorn --pythonpath bench 'raw_availability_app:create_app()'

Served by gunicorn exactly like Shelfside and the trivial app (same worker class, workers,
threads; see bench/availability.py), it answers ``GET /api/v1/availability?sku=…&store=…`` with
the same SQL Shelfside runs on PostgreSQL (``inventory/availability.py``, compiled: SKUs × active
locations left-joined to their stock rows, the SKUs as one array parameter) and the same answer
(``{"items": [...], "unknown": [...], "next_cursor": null}``), but without SQLAlchemy,
flask-smorest, webargs/marshmallow, authentication, the request hooks or the unit of work.
Each gunicorn thread keeps one autocommit connection (``max_parallel_workers_per_gather = 0``,
as Shelfside's), and the statement is prepared on it.

So, per request: Shelfside's CPU minus this app's is what the framework (ours and the libraries')
costs; this app's minus the trivial endpoint's is the query and its answer; the database's CPU
is the same query in both.  The ``Authorization`` header is ignored: the lua script sends it to all.
"""

from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request

MAX_SKUS = 200
_SELECT = (
    "SELECT variant.sku, location.code, coalesce(stock_level.on_hand, 0), coalesce(stock_level.reserved, 0) "
    "FROM variant JOIN location ON location.active IS true "
    "LEFT OUTER JOIN stock_level ON stock_level.variant_id = variant.id AND stock_level.location_id = location.id "
    "WHERE variant.sku = ANY (%(skus)s::VARCHAR[]){store} ORDER BY location.kind, location.code"
)
ONE_STORE = _SELECT.format(store=" AND location.code = %(store)s::VARCHAR")
ALL_LOCATIONS = _SELECT.format(store="")


def create_app() -> Flask:
    app = Flask(__name__)
    dsn = os.environ.get("BENCH_RAW_DSN") or os.environ["DATABASE_DSN"]
    local = threading.local()

    def connection() -> psycopg.Connection:
        conn = getattr(local, "connection", None)
        if conn is None or conn.closed:
            conn = local.connection = psycopg.connect(dsn, autocommit=True, options="-c max_parallel_workers_per_gather=0")
        return conn

    @app.get("/healthz")
    def healthz():
        connection().execute("SELECT 1")
        return jsonify({"status": "ok"})

    @app.get("/api/v1/availability")
    def availability():
        skus = list(dict.fromkeys(s.strip() for value in request.args.getlist("sku") for s in value.split(",") if s.strip()))
        if not skus or len(skus) > MAX_SKUS or any(len(s) > 100 for s in skus):
            return jsonify({"error": {"code": "invalid_request", "message": "1 to 200 SKUs of 1 to 100 characters", "details": None}}), 400
        store = request.args.get("store")
        params = {"skus": skus, "store": store} if store else {"skus": skus}
        rows = connection().execute(ONE_STORE if store else ALL_LOCATIONS, params, prepare=True).fetchall()
        by_sku: dict[str, list[dict]] = {}
        for sku, code, on_hand, reserved in rows:
            by_sku.setdefault(sku, []).append({"sku": sku, "store": code, "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved})
        items = [item for sku in skus for item in by_sku.get(sku, ())]
        return jsonify({"items": items, "unknown": [sku for sku in skus if sku not in by_sku], "next_cursor": None})

    return app
