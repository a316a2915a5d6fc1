"""Contention benchmark: many clients reserving ONE SKU at ONE store, beside a raw UPDATE loop.

    .venv/bin/python bench/contention.py [--duration 20] [--connections 32] [--units 500 --requests 2000 --clients 64]

Three parts, one run, the same gunicorn settings as the availability benchmark:

1. Throughput over HTTP.  The hot row (SKU-000001 at S001) is set to 100,000 on hand and 0
   reserved (through a ``count`` line in the ledger, so on hand still equals the sum of its
   movements).  wrk (bench/reserve.lua) keeps 32 connections busy with
   ``POST /api/v1/reservations`` for quantity 1, each request with a fresh Idempotency-Key.
   Reported: 201s per second (and latency), cross-checked against ``reserved`` in the database.
2. The raw loop on the same database and row: the same number of psycopg connections (in
   two processes, so one GIL does not cap it) each running, in autocommit,
   ``UPDATE stock_level SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1``.
   Reported: successful updates per second, and the HTTP path's share of it.
3. Oversell check.  The row is set to exactly N units (500); 64 client threads fire 2,000
   reservation requests as fast as the server takes them.  Exactly N must answer 201, all
   the others 409 ``insufficient_stock``; afterwards ``reserved == N`` and
   ``on_hand - reserved == 0`` in the database, N held reservations exist, and the row's
   ledger still sums to its on hand.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import BENCH_DIR, HOT_SKU, HOT_STORE, LoadSettings, ServerSettings, app_env, connect, gunicorn, log, run_wrk

RAW_UPDATE = "UPDATE stock_level SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1"


# --- the hot row ---------------------------------------------------------------------------


def hot_row_id(conn) -> int:
    return conn.execute(
        """SELECT s.id FROM stock_level s JOIN variant v ON v.id = s.variant_id JOIN location l ON l.id = s.location_id
           WHERE v.sku = %s AND l.code = %s""",
        (HOT_SKU, HOT_STORE),
    ).fetchone()[0]


def reset_hot_row(on_hand: int) -> int:
    """Drop the bench's holds on the hot row and set it to ``on_hand`` units, 0 reserved.

    On hand moves only through a ``count`` ledger line (the variance), like a stock count
    would: the ledger invariant holds before and after every benchmark."""
    with connect() as conn, conn.transaction():
        level = hot_row_id(conn)
        current = conn.execute("SELECT on_hand FROM stock_level WHERE id = %s FOR UPDATE", (level,)).fetchone()[0]
        conn.execute("DELETE FROM reservation WHERE id IN (SELECT reservation_id FROM reservation_line WHERE stock_level_id = %s)", (level,))
        conn.execute("DELETE FROM idempotency_record WHERE key LIKE %s", ("bench-%",))
        conn.execute("UPDATE stock_level SET reserved = 0, on_hand = %s, updated_at = now() WHERE id = %s", (on_hand, level))
        if on_hand != current:
            conn.execute(
                """INSERT INTO stock_movement (stock_level_id, kind, quantity, on_hand_after, counted, reason, reference, actor_kind, actor_id, created_at)
                   VALUES (%s, 'count', %s, %s, %s, 'bench reset', 'bench-contention', 'system', NULL, now())""",
                (level, on_hand - current, on_hand, on_hand),
            )
    return level


def wait_settled(level: int, quiet: float = 1.5, timeout: float = 60) -> dict:
    """The hot row's state once requests still queued in the server when wrk stopped have finished."""
    deadline = time.monotonic() + timeout
    state = hot_row_state(level)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = hot_row_state(level)
        if again == state:
            return state
        state = again
    return state


def hot_row_state(level: int) -> dict:
    with connect() as conn:
        on_hand, reserved = conn.execute("SELECT on_hand, reserved FROM stock_level WHERE id = %s", (level,)).fetchone()
        held, held_units = conn.execute(
            """SELECT count(DISTINCT r.id), coalesce(sum(rl.quantity), 0) FROM reservation r
               JOIN reservation_line rl ON rl.reservation_id = r.id
               WHERE rl.stock_level_id = %s AND r.status = 'held'""",
            (level,),
        ).fetchone()
        ledger = conn.execute("SELECT coalesce(sum(quantity), 0) FROM stock_movement WHERE stock_level_id = %s", (level,)).fetchone()[0]
    return {
        "on_hand": on_hand,
        "reserved": reserved,
        "available": on_hand - reserved,
        "held_reservations": held,
        "held_units": int(held_units),
        "ledger_sum": int(ledger),
        "ledger_ok": int(ledger) == on_hand,
    }


# --- the raw loop --------------------------------------------------------------------------


def _raw_process(level: int, threads: int, start_at: float, stop_at: float, queue) -> None:
    import psycopg

    counts = [0] * threads
    misses = [0] * threads
    backend_cpu = [0.0] * threads
    connections = [psycopg.connect(common.dsn(), autocommit=True) for _ in range(threads)]

    def loop(index: int) -> None:
        conn = connections[index]
        cursor = conn.cursor()
        backend = conn.info.backend_pid
        while time.time() < start_at:
            time.sleep(0.001)
        cpu_before = common._cpu_seconds(backend)
        while time.time() < stop_at:
            cursor.execute(RAW_UPDATE, (level,), prepare=True)
            if cursor.rowcount == 1:
                counts[index] += 1
            else:
                misses[index] += 1
        backend_cpu[index] = common._cpu_seconds(backend) - cpu_before

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for conn in connections:
        conn.close()
    queue.put((sum(counts), sum(misses), sum(backend_cpu)))


def raw_loop(level: int, connections: int, duration: int, processes: int = 2) -> dict:
    """``connections`` autocommit connections, split over ``processes``, each updating the row in a loop."""
    processes = max(1, min(processes, connections))
    queue = multiprocessing.get_context("fork").Queue()
    start_at = time.time() + 2.0  # every connection open before the clock starts
    stop_at = start_at + duration
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    procs = [multiprocessing.get_context("fork").Process(target=_raw_process, args=(level, share, start_at, stop_at, queue)) for share in shares]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    updates = sum(r[0] for r in results)
    misses = sum(r[1] for r in results)
    db_cpu = sum(r[2] for r in results)
    return {
        "connections": connections,
        "processes": processes,
        "duration_s": duration,
        "updates": updates,
        "misses": misses,
        "rps": updates / duration,
        "db_cpu_ms_per_update": round(db_cpu * 1000 / max(1, updates), 3),
    }


# --- the oversell check --------------------------------------------------------------------


def oversell(base: str, key: str, level: int, units: int, requests_: int, clients: int) -> dict:
    import requests

    reset_hot_row(units)
    with connect() as conn:
        last_movement = conn.execute("SELECT coalesce(max(id), 0) FROM stock_movement WHERE stock_level_id = %s", (level,)).fetchone()[0]
    run_id = uuid.uuid4().hex[:8]
    body = {
        "store": HOT_STORE,
        "lines": [{"sku": HOT_SKU, "quantity": 1}],
        "kind": "online_order",
        "reference": f"bench-oversell-{run_id}",
        "expires_in": 3600,
    }
    local = threading.local()
    barrier = threading.Barrier(min(clients, requests_))

    def session():
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            barrier.wait()  # every client connected before the first request
        return local.session

    def fire(n: int) -> tuple[int, str]:
        try:
            answer = session().post(f"{base}/api/v1/reservations", json=body, headers={"Idempotency-Key": f"bench-{run_id}-{n}"}, timeout=60)
        except requests.RequestException as exc:
            return 0, exc.__class__.__name__  # counted as status 0: no answer
        try:
            code = answer.json().get("error", {}).get("code", "") if answer.status_code >= 400 else ""
        except ValueError:
            code = "not json"
        return answer.status_code, code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(fire, range(requests_)))
    elapsed = time.perf_counter() - started
    statuses = Counter(status for status, _ in answers)
    codes = Counter(code for status, code in answers if status >= 400 or status == 0)
    after = wait_settled(level)
    with connect() as conn:
        # nothing but this run may have touched the row: reservations write no ledger lines,
        # so any movement since our reset means someone else changed the row meanwhile
        foreign = conn.execute("SELECT count(*) FROM stock_movement WHERE stock_level_id = %s AND id > %s", (level, last_movement)).fetchone()[0]
        mine = conn.execute("SELECT count(*) FROM reservation WHERE reference = %s AND status = 'held'", (body["reference"],)).fetchone()[0]
    after["held_reservations_of_this_run"] = mine
    after["foreign_ledger_lines"] = foreign
    if foreign:
        log(f"  WARNING: {foreign} ledger line(s) appeared on the hot row during the oversell check: another process changed it; the check is void")
    ok = (
        statuses.get(201, 0) == units
        and statuses.get(409, 0) == requests_ - units
        and set(codes) <= {"insufficient_stock"}
        and after["reserved"] == units
        and after["available"] == 0
        and after["held_reservations"] == units
        and after["held_units"] == units
        and after["ledger_ok"]
        and mine == units
        and not foreign
    )
    return {
        "units": units,
        "requests": requests_,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "error_codes": dict(codes),
        "after": after,
        "zero_oversell": ok,
        "interfered": bool(foreign),
    }


# --- the run ---------------------------------------------------------------------------------


def run(
    state: dict, server: ServerSettings, load: LoadSettings, units: int = 500, requests_: int = 2000, clients: int = 64, start_on_hand: int = 100_000
) -> dict:
    key = state["api_key"]
    results: dict = {
        "server": server.describe(),
        "server_settings": server.__dict__,
        "load": load.__dict__,
        "hot_row": {"sku": HOT_SKU, "store": HOT_STORE},
    }
    with gunicorn("shelfside-contention", "web:create_app()", server, app_env()) as app:
        level = reset_hot_row(start_on_hand)
        if load.warmup:
            run_wrk(
                "reserve-warmup",
                app.base,
                BENCH_DIR / "reserve.lua",
                [key, HOT_SKU, HOT_STORE, "w" + uuid.uuid4().hex[:8]],
                load,
                duration=load.warmup,
            )
        level = reset_hot_row(start_on_hand)
        log(f"contention: HTTP reservations for {load.duration}s at {load.connections} connections")
        before = time.perf_counter()
        http = run_wrk(
            "contention-http", app.base, BENCH_DIR / "reserve.lua", [key, HOT_SKU, HOT_STORE, uuid.uuid4().hex[:8]], load, server_pid=app.process.pid
        )
        after = wait_settled(level)
        answer = http.as_dict()
        created = int(http.statuses.get("201", 0))
        answer.update(
            {
                "reservations": created,
                "reservations_per_s": created / http.duration_s,
                "db_reserved_after": after["reserved"],
                "db_held_reservations": after["held_reservations"],
                "ledger_ok": after["ledger_ok"],
                "wall_s": round(time.perf_counter() - before, 1),
            }
        )
        results["http"] = answer
        log(
            f"  {answer['reservations_per_s']:,.0f} reservations/s (201s: {created}, statuses {http.statuses}), "
            f"p50 {http.p50_ms:.1f} ms, p99 {http.p99_ms:.1f} ms; reserved in the database: {after['reserved']}"
        )

        log(f"contention: raw UPDATE loop for {load.duration}s at {load.connections} connections")
        reset_hot_row(10_000_000)  # enough that the loop never runs dry
        raw = raw_loop(level, load.connections, load.duration)
        raw_after = hot_row_state(level)
        raw["db_reserved_after"] = raw_after["reserved"]
        results["raw"] = raw
        log(f"  {raw['rps']:,.0f} updates/s ({raw['updates']} in {raw['duration_s']}s; reserved in the database: {raw_after['reserved']})")

        log(f"contention: oversell check, {units} units, {requests_} requests from {clients} clients")
        results["oversell"] = oversell(app.base, key, level, units, requests_, clients)
        log(
            f"  statuses {results['oversell']['statuses']}, after {results['oversell']['after']}, zero oversell: {results['oversell']['zero_oversell']}"
        )
        reset_hot_row(start_on_hand)
    results["ratio_to_raw"] = results["http"]["reservations_per_s"] / raw["rps"] if raw["rps"] else None
    results["target_ratio_met"] = bool(results["ratio_to_raw"] and results["ratio_to_raw"] >= 0.30)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="contention benchmark")
    common.add_settings_arguments(parser)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=64)
    args = parser.parse_args()
    state = common.require_state()
    server, load = common.settings_from(args)
    with common.exclusive("contention"):
        results = run(state, server, load, args.units, args.requests, args.clients)
    common.print_results(results, args.json)


if __name__ == "__main__":
    main()
