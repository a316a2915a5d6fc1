"""The customer timeline with 1,000,000 events: first-page latency through the app, and its plan.

    .venv/bin/python bench/timeline.py [--requests 500] [--regenerate]

Its own database (``BENCH_EVENTS_DB``, default ``shelfside_events_bench``; created and migrated
when missing): 20,000 customers and 1,000,000 events in ``customer_event`` — one customer with
10,000 of them, the rest spread at random — filled server-side with ``INSERT … SELECT
generate_series`` (mixed types and channels, times over a year, ``VACUUM ANALYZE`` after).  The
heavy customer has personalisation consent, a second heavy-ish view is taken without it (online
channels hidden: the filter runs inside the index scan).

Then, in process (Flask test client, a staff token; no server, no load tool): ``GET
/api/v1/customers/{id}/timeline`` for the heavy customer — the first page, the page after a cursor
deep in the timeline, and a ``type`` filter — each ``--requests`` times after a warm-up; p50/p99
wall ms.  Target: p99 of the first page under 30 ms.  The statement the first page ran is captured
and shown with ``EXPLAIN (ANALYZE, BUFFERS)``; it must use ``ix_customer_event_timeline``.

Results: bench/results/timeline.txt (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ["BENCH_DB"] = os.environ.get("BENCH_EVENTS_DB", "shelfside_events_bench")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import RESULTS_DIR, connect, log

TOTAL_EVENTS = 1_000_000
HEAVY_EVENTS = 10_000
CUSTOMERS = 20_000
HEAVY = "cus_timeline_bench_heavy"
PASSWORD = "timeline-bench-password"
STAFF_EMAIL = "timeline-bench@bench.example"

TYPES = "ARRAY['product_viewed','product_viewed','product_viewed','product_searched','wishlist_added','cart_updated','order_placed','appointment_booked','purchase_in_store','message_sent']"
CHANNELS = "ARRAY['web','web','web','app','web','web','web','store','store','email']"


def ensure_database() -> None:
    with connect("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (common.BENCH_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{common.BENCH_DB}"')
    subprocess.run(
        [str(common.VENV_BIN / "flask"), "--app", "web", "db", "upgrade"],
        cwd=common.APP_ROOT,
        env={**os.environ, "DATABASE_URL": common.sqlalchemy_url()},
        check=True,
        capture_output=True,
    )


def generate(regenerate: bool) -> dict:
    """Customers and events, server-side.  Answers what was done and how long it took."""
    with connect() as conn:
        heavy = conn.execute("SELECT id FROM customer WHERE public_id = %s", (HEAVY,)).fetchone()
        if heavy and not regenerate:
            count = conn.execute("SELECT count(*) FROM customer_event").fetchone()[0]
            if count >= TOTAL_EVENTS:
                return {"generated": False, "events": count}
        started = time.perf_counter()
        conn.execute(
            "TRUNCATE purchased_item, customer_event, customer_identity, consent_record, customer_note, profile_view, customer RESTART IDENTITY CASCADE"
        )
        conn.execute(
            """INSERT INTO customer (public_id, name, kind, loyalty_code, sizes, preferences, tags, search_name, created_at, updated_at)
               SELECT CASE WHEN n = 1 THEN %s ELSE 'cus_tlb_' || n END, 'Bench Customer ' || n, 'customer', 'SHT' || lpad(n::text, 10, '0'),
                      '{}', '{}', '[]', 'bench customer ' || n, now(), now()
               FROM generate_series(1, %s) AS n""",
            (HEAVY, CUSTOMERS),
        )
        conn.execute(
            """INSERT INTO consent_record (customer_id, purpose, granted, source, recorded_at, actor_kind)
               SELECT id, 'personalisation', true, 'web', now(), 'system' FROM customer WHERE id <= 2"""
        )
        # the heavy customer: 10,000 events over a year, many sharing a second (ties on occurred_at)
        conn.execute(
            f"""INSERT INTO customer_event (event_id, customer_id, type, channel, occurred_at, received_at, sku, data, actor_kind)
                SELECT 'tlb-h-' || n, 1, ({TYPES})[1 + n %% 10], ({CHANNELS})[1 + n %% 10],
                       now() - make_interval(secs => (n / 3) * 3150), now(), 'SKU-' || (n %% 500), '{{}}', 'api_key'
                FROM generate_series(1, %s) AS n""",
            (HEAVY_EVENTS,),
        )
        conn.execute(
            f"""INSERT INTO customer_event (event_id, customer_id, type, channel, occurred_at, received_at, sku, data, actor_kind)
                SELECT 'tlb-' || n, 2 + (random() * ({CUSTOMERS} - 2))::int, ({TYPES})[1 + n %% 10], ({CHANNELS})[1 + n %% 10],
                       now() - make_interval(secs => (random() * 31536000)::int), now(), 'SKU-' || (n %% 5000), '{{}}', 'api_key'
                FROM generate_series(1, %s) AS n""",
            (TOTAL_EVENTS - HEAVY_EVENTS,),
        )
        conn.execute("VACUUM ANALYZE customer_event")
        conn.execute("VACUUM ANALYZE customer")
        conn.execute("VACUUM ANALYZE consent_record")
        return {"generated": True, "events": TOTAL_EVENTS, "seconds": round(time.perf_counter() - started, 1)}


MEASURE = r"""
import json, sys, time
from sqlalchemy import event, text
from core import db
from web import create_app
import accounts, clienteling

heavy, email, password, requests = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
app = create_app()
with app.app_context():
    if accounts.authenticate_staff(email, password) is None:
        accounts.create_staff(email, "Timeline Bench", "admin", password, [])
        db.session.commit()
    second = db.session.execute(text("SELECT public_id FROM customer WHERE id = 3")).scalar()  # no consent
    client = app.test_client()
    token = client.post("/api/v1/staff/tokens", json={"email": email, "password": password}).get_json()["token"]
    headers = {"Authorization": "Bearer " + token}
    first = client.get(f"/api/v1/customers/{heavy}/timeline", headers=headers).get_json()
    cursor = first["next_cursor"]
    for _ in range(100):  # deep in the timeline: 100 pages of 50 in
        cursor = client.get(f"/api/v1/customers/{heavy}/timeline?cursor={cursor}", headers=headers).get_json()["next_cursor"]

    def measure(path):
        for _ in range(30):
            client.get(path, headers=headers)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
        times.sort()
        return {"p50_ms": round(times[len(times) // 2], 2), "p99_ms": round(times[int(len(times) * 0.99) - 1], 2), "max_ms": round(times[-1], 2),
                "items": len(response.get_json()["items"])}

    results = {
        "first_page": measure(f"/api/v1/customers/{heavy}/timeline"),
        "page_101": measure(f"/api/v1/customers/{heavy}/timeline?cursor={cursor}"),
        "type_filter": measure(f"/api/v1/customers/{heavy}/timeline?type=order_placed"),
        "first_page_without_consent": measure(f"/api/v1/customers/{second}/timeline"),
    }
    captured = []

    def capture(conn, cursor_, statement, parameters, context, executemany):
        if "FROM customer_event" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    client.get(f"/api/v1/customers/{heavy}/timeline", headers=headers)
    event.remove(db.engine, "before_cursor_execute", capture)
    statement, parameters = captured[-1]
    with db.engine.connect() as conn:
        plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
    results["statement"] = " ".join(statement.split())
    results["plan"] = plan
    print("RESULT " + json.dumps(results))
"""


def measure(requests: int) -> dict:
    out = subprocess.run(
        [common.PYTHON, "-c", MEASURE, HEAVY, STAFF_EMAIL, PASSWORD, str(requests)],
        cwd=common.APP_ROOT,
        env=common.app_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def render(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Customer timeline — GET /api/v1/customers/{{id}}/timeline, in process (test client, staff token), PostgreSQL ({results['date']}, code {results['revision']})",
        f"machine: {m['nproc']} cores, {m['cpu']}; PostgreSQL {m['postgresql']}; load average at start {', '.join(f'{v:.2f}' for v in m['loadavg_at_start'])}",
        f"data: {results['data']['events']:,} events among {CUSTOMERS:,} customers, one with {HEAVY_EVENTS:,}"
        + (f" (generated in {results['data']['seconds']} s)" if results["data"].get("generated") else " (reused)"),
        f"requests per case: {results['requests']} after 30 warm-up",
        "",
    ]
    labels = {
        "first_page": "first page, 10,000-event customer",
        "page_101": "page 101 (cursor 5,000 events deep)",
        "type_filter": "first page, type=order_placed",
        "first_page_without_consent": "first page, no consent (online hidden)",
    }
    for key, label in labels.items():
        r = results["timings"][key]
        lines.append(f"{label:45s} p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms   max {r['max_ms']:6.2f} ms   ({r['items']} items)")
    first = results["timings"]["first_page"]
    lines += [
        "",
        f"target p99 < 30 ms for the first page: {'met' if first['p99_ms'] < 30 else 'MISSED'} ({first['p99_ms']} ms)",
        f"plan uses ix_customer_event_timeline: {'yes' if results['uses_index'] else 'NO'}",
        "",
        "statement: " + results["timings"]["statement"],
        "",
        "EXPLAIN (ANALYZE, BUFFERS):",
        *("  " + row for row in results["timings"]["plan"]),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from events_ingest import machine

    with common.exclusive("timeline"):
        ensure_database()
        log(f"database {common.BENCH_DB}: {TOTAL_EVENTS:,} events")
        data = generate(args.regenerate)
        log(f"data: {data}")
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.APP_ROOT, capture_output=True, text=True).stdout.strip()
        results = {"date": time.strftime("%Y-%m-%d %H:%M"), "revision": revision, "machine": machine(), "data": data, "requests": args.requests}
        results["timings"] = measure(args.requests)
        results["uses_index"] = any("ix_customer_event_timeline" in row for row in results["timings"]["plan"])
    text = render(results)
    (RESULTS_DIR / "timeline.txt").write_text(text)
    (RESULTS_DIR / "timeline.json").write_text(json.dumps(results, indent=2))
    print(text)


if __name__ == "__main__":
    main()
