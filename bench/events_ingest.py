"""Partner event ingestion over HTTP: ``POST /api/v1/events`` in batches of 1,000, on PostgreSQL.

    .venv/bin/python bench/events_ingest.py [--clients 4] [--batches 60] [--workers 3 --threads 4]

Its own database (``BENCH_EVENTS_DB``, default ``shelfside_events_bench``; created when missing,
migrated with ``flask db upgrade``, its customer tables emptied at the start): 200 products with 5
sizes each (1,000 SKUs), 5,000 known customers, a partner API key.  The app is served by gunicorn
exactly as bench/availability.py serves it (``'web:create_app()'``, ``RATELIMIT_ENABLED=false``,
the same worker settings), and:

1. Throughput: N client threads (keep-alive connections) post pre-encoded batches of 1,000 events —
   a mix of views, searches, wishlists, cart updates and online orders; 70% for known customers
   (by email or external id), 30% for new emails (a lead each) — after a warm-up.  Reported:
   events/s over the measured batches, batch latency p50/p99, CPU per 1,000 events (gunicorn and
   its PostgreSQL backends).
2. Exactly once: one fresh batch (new emails) posted by 8 clients at the same moment.  Every answer
   must be 202, the accepted counts must add up to 1,000 and the duplicates to 7,000, and the
   database must hold exactly one row per event id and one lead per new email.

Results: bench/results/events_ingest.txt (and .json).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ["BENCH_DB"] = os.environ.get("BENCH_EVENTS_DB", "shelfside_events_bench")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import RESULTS_DIR, ServerSettings, app_env, connect, gunicorn, log

PRODUCTS = 200
SIZES = ("XS", "S", "M", "L", "XL")
KNOWN_CUSTOMERS = 5000
BATCH = 1000


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


SEED = """
import sys
from core import db, Money
from web import create_app
import accounts, clienteling, inventory
from core.actor import SYSTEM
from sqlalchemy import text, select, func
products, sizes, known = int(sys.argv[1]), sys.argv[2].split(","), int(sys.argv[3])
app = create_app()
with app.app_context():
    db.session.execute(text("TRUNCATE purchased_item, customer_event, customer_identity, consent_record, customer_note, profile_view, customer RESTART IDENTITY CASCADE"))
    db.session.commit()
    if db.session.scalar(select(func.count()).select_from(inventory.Variant).where(inventory.Variant.sku.like("EVB-%"))) < products * len(sizes):
        for n in range(products):
            inventory.upsert_product({"handle": f"evb-{n}", "title": f"Bench Product {n}", "category": "Jackets",
                "variants": [{"sku": f"EVB-{n:04d}-{s}", "price": Money(5000 + n, "EUR"), "options": {"size": s}} for s in sizes]})
        db.session.commit()
    for n in range(known):
        clienteling.create_customer(f"Known Customer {n}", SYSTEM, email=f"known{n}@bench.example", external_id=f"shop-{n}")
        if n % 500 == 499:
            db.session.commit()
    db.session.commit()
    import uuid
    _, key = accounts.create_api_key(f"events-bench-{uuid.uuid4().hex[:8]}", ["events:write"])
    db.session.commit()
    print(key)
"""


def seed() -> str:
    out = subprocess.run(
        [common.PYTHON, "-c", SEED, str(PRODUCTS), ",".join(SIZES), str(KNOWN_CUSTOMERS)],
        cwd=common.APP_ROOT,
        env=app_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def make_batch(rng: random.Random, run: str, number: int, new_share: float = 0.3) -> list[dict]:
    base = datetime.now(UTC) - timedelta(days=2)
    events = []
    for i in range(BATCH):
        if rng.random() < new_share:
            customer = {"email": f"new-{run}-{number}-{i}@bench.example"}
        else:
            n = rng.randrange(KNOWN_CUSTOMERS)
            customer = {"email": f"known{n}@bench.example"} if rng.random() < 0.7 else {"external_id": f"shop-{n}"}
        sku = f"EVB-{rng.randrange(PRODUCTS):04d}-{rng.choice(SIZES)}"
        at = (base + timedelta(seconds=rng.randrange(150_000))).isoformat()
        kind = rng.random()
        event = {"id": f"{run}-{number}-{i}", "occurred_at": at, "customer": customer}
        if kind < 0.5:
            event.update(type="product_viewed", sku=sku, data={"url": f"https://shop.example/p/{sku.lower()}"})
        elif kind < 0.65:
            event.update(type="product_searched", data={"query": rng.choice(["rain jacket", "merino", "trail", "fleece"])})
        elif kind < 0.75:
            event.update(type="wishlist_added", sku=sku, channel="app")
        elif kind < 0.9:
            event.update(type="cart_updated", data={"cart_id": f"c{rng.randrange(10**6)}", "lines": [{"sku": sku, "quantity": 1}]})
        else:
            price = {"amount": 5000, "currency": "EUR"}
            event.update(
                type="order_placed",
                data={"order_id": f"#{run}-{number}-{i}", "lines": [{"sku": sku, "quantity": 1, "unit_price": price}], "total": price},
            )
        events.append(event)
    return events


def post(conn: http.client.HTTPConnection, key: str, body: bytes) -> tuple[int, dict]:
    conn.request("POST", "/api/v1/events", body=body, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    return answer.status, json.loads(data)


def throughput(server, key: str, clients: int, batches: int, warmup: int) -> dict:
    rng = random.Random(7)
    run = uuid.uuid4().hex[:8]
    bodies = [json.dumps({"events": make_batch(rng, run, n)}).encode() for n in range(warmup + batches)]
    warm, measured = bodies[:warmup], bodies[warmup:]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    for body in warm:
        status, answer = post(conn, key, body)
        assert status == 202 and answer["accepted"] == BATCH, (status, answer)
    conn.close()
    queue = list(enumerate(measured))
    lock = threading.Lock()
    latencies, answers, errors = [], [], []

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            started = time.perf_counter()
            try:
                status, answer = post(connection, key, body)
            except Exception as exc:
                errors.append(repr(exc))
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
                continue
            latencies.append(time.perf_counter() - started)
            answers.append((status, answer))
        connection.close()

    meter = common.CpuMeter(server.process.pid)
    meter.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu = meter.stop()
    accepted = sum(answer.get("accepted", 0) for status, answer in answers if status == 202)
    latencies.sort()
    return {
        "clients": clients,
        "batches": len(measured),
        "events_posted": len(measured) * BATCH,
        "events_accepted": accepted,
        "non_202": sum(1 for status, _ in answers if status != 202),
        "errors": errors[:5],
        "seconds": round(wall, 2),
        "events_per_second": round(accepted / wall),
        "batch_p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "batch_p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1) if latencies else None,
        "app_cpu_ms_per_1000_events": round(cpu["app_cpu_s"] * 1000 * 1000 / max(accepted, 1), 1),
        "db_cpu_ms_per_1000_events": round(cpu["db_cpu_s"] * 1000 * 1000 / max(accepted, 1), 1),
    }


def exactly_once(server, key: str, clients: int = 8) -> dict:
    run = "retry-" + uuid.uuid4().hex[:8]
    batch = make_batch(random.Random(11), run, 0, new_share=0.5)
    body = json.dumps({"events": batch}).encode()
    new_emails = {e["customer"]["email"] for e in batch if e["customer"].get("email", "").startswith("new-")}
    barrier = threading.Barrier(clients)
    answers: list = [None] * clients

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        connection.connect()
        barrier.wait()
        answers[index] = post(connection, key, body)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with connect() as conn:
        rows, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM customer_event WHERE event_id LIKE %s", (f"{run}-%",)
        ).fetchone()
        identities = conn.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM customer_identity WHERE kind = 'email' AND value = ANY(%s)", (list(new_emails),)
        ).fetchone()
        orphans = conn.execute(
            "SELECT count(*) FROM customer c WHERE c.kind = 'lead' AND NOT EXISTS (SELECT 1 FROM customer_event e WHERE e.customer_id = c.id)"
        ).fetchone()[0]
    statuses = [status for status, _ in answers]
    accepted = sum(answer["accepted"] for _, answer in answers)
    duplicates = sum(answer["duplicates"] for _, answer in answers)
    ok = (
        statuses == [202] * clients
        and accepted == BATCH
        and duplicates == BATCH * (clients - 1)
        and rows == distinct == BATCH
        and identities == (len(new_emails), len(new_emails))
        and orphans == 0
    )
    return {
        "clients": clients,
        "statuses": statuses,
        "accepted_sum": accepted,
        "duplicates_sum": duplicates,
        "rows_in_database": rows,
        "distinct_event_ids": distinct,
        "new_emails": len(new_emails),
        "email_identities_for_them": identities[0],
        "customers_for_them": identities[1],
        "leads_without_events": orphans,
        "exactly_once": ok,
    }


def machine() -> dict:
    """common.machine() without asking wrk for its version (this benchmark's clients are Python threads)."""
    wrk = common.WRK
    common.WRK = wrk if os.path.exists(wrk) else "true"
    try:
        return common.machine()
    finally:
        common.WRK = wrk


def render(results: dict) -> str:
    t, x = results["throughput"], results["exactly_once"]
    lines = [
        f"Partner event ingestion — POST /api/v1/events, batches of {BATCH}, PostgreSQL ({results['date']}, code {results['revision']})",
        f"machine: {results['machine']['nproc']} cores, {results['machine']['cpu']}; PostgreSQL {results['machine']['postgresql']}; "
        f"load average at start {', '.join(f'{v:.2f}' for v in results['machine']['loadavg_at_start'])}",
        f"gunicorn: {results['server']}",
        "",
        f"throughput: {t['events_per_second']:,} events/s ({t['events_accepted']:,} events in {t['seconds']} s, {t['batches']} batches, "
        f"{t['clients']} concurrent clients; 30% new emails); target >= 5,000 events/s: {'met' if t['events_per_second'] >= 5000 else 'MISSED'}",
        f"batch latency: p50 {t['batch_p50_ms']} ms, p99 {t['batch_p99_ms']} ms; non-202 answers {t['non_202']}, errors {len(t['errors'])}",
        f"CPU per 1,000 events: app {t['app_cpu_ms_per_1000_events']} ms, PostgreSQL {t['db_cpu_ms_per_1000_events']} ms",
        "",
        f"exactly once: one batch of {BATCH} from {x['clients']} clients at once -> statuses {sorted(set(x['statuses']))}, "
        f"accepted {x['accepted_sum']}, duplicates {x['duplicates_sum']}, rows {x['rows_in_database']} ({x['distinct_event_ids']} distinct ids), "
        f"{x['new_emails']} new emails -> {x['customers_for_them']} customers, leads without events {x['leads_without_events']}: "
        + ("EXACT" if x["exactly_once"] else "FAILED"),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=4)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--worker-class", default=None)
    args = parser.parse_args()
    server_settings = ServerSettings()
    for name in ("workers", "threads", "worker_class"):
        if getattr(args, name) is not None:
            setattr(server_settings, name, getattr(args, name))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with common.exclusive("events_ingest"):
        log(f"database {common.BENCH_DB}: migrating and seeding")
        ensure_database()
        key = seed()
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.APP_ROOT, capture_output=True, text=True).stdout.strip()
        results = {"date": time.strftime("%Y-%m-%d %H:%M"), "revision": revision, "machine": machine(), "server": server_settings.describe()}
        with gunicorn("events", "web:create_app()", server_settings, app_env()) as server:
            log(f"throughput: {args.batches} batches from {args.clients} clients")
            results["throughput"] = throughput(server, key, args.clients, args.batches, args.warmup)
            log(f"throughput: {results['throughput']['events_per_second']} events/s")
            results["exactly_once"] = exactly_once(server, key)
            log(f"exactly once: {results['exactly_once']['exactly_once']}")
    text = render(results)
    (RESULTS_DIR / "events_ingest.txt").write_text(text)
    (RESULTS_DIR / "events_ingest.json").write_text(json.dumps(results, indent=2))
    print(text)


if __name__ == "__main__":
    main()
