"""Where a request's CPU goes: cProfile over N in-process requests, grouped by package.

    .venv/bin/python bench/profile_requests.py [--requests 200] [--json out.json]

Runs Shelfside in this process (Flask test client, same bench database, no HTTP server, no
load tool) so the profile is not disturbed by other processes on a busy machine.  For each
scenario it reports wall and CPU milliseconds per request, the number of SQL statements
per request, and the share of profiled self-time spent in each package (SQLAlchemy,
psycopg, marshmallow, Flask/Werkzeug, flask-smorest/webargs, our code, the stdlib ...).

Scenarios: availability of 50 SKUs at one store; of 50 SKUs at every location (2,500
items); one reservation (quantity 1, fresh Idempotency-Key); /healthz (one SELECT 1).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

sys.path.insert(1, str(common.APP_ROOT))

GROUPS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "psycopg"),
    ("marshmallow", "marshmallow"),
    ("flask_smorest", "flask-smorest / webargs / apispec"),
    ("webargs", "flask-smorest / webargs / apispec"),
    ("apispec", "flask-smorest / webargs / apispec"),
    ("werkzeug", "Flask / Werkzeug"),
    ("flask_login", "Flask extensions (login, limiter, wtf)"),
    ("flask_limiter", "Flask extensions (login, limiter, wtf)"),
    ("flask_wtf", "Flask extensions (login, limiter, wtf)"),
    ("flask_sqlalchemy", "SQLAlchemy"),
    ("flask", "Flask / Werkzeug"),
    ("/work/main/", "Shelfside (core, inventory, web)"),
)


def group_of(filename: str) -> str:
    if filename.startswith((str(common.ROOT) + "/", str(common.APP_ROOT) + "/")) and "site-packages" not in filename:
        return "Shelfside (core, inventory, web)"
    if "site-packages/" in filename:
        package = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        for prefix, name in GROUPS:
            if package.startswith(prefix):
                return name
        return f"other ({package})"
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins (json, hashing, socket I/O waits ...)"
    return "Python stdlib"


def breakdown(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile)
    totals: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        totals[group_of(filename)] += tottime
    whole = sum(totals.values()) or 1
    return {name: round(100 * value / whole, 1) for name, value in sorted(totals.items(), key=lambda kv: -kv[1])}


def top_functions(profile: cProfile.Profile, limit: int = 12) -> list[str]:
    stats = pstats.Stats(profile)
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])
    out = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in rows:
        if filename.startswith((str(common.ROOT), str(common.APP_ROOT))) and "site-packages" not in filename:
            root = common.APP_ROOT if filename.startswith(str(common.APP_ROOT) + "/") else common.ROOT
            out.append(f"{cumtime:7.3f}s cum  {Path(filename).relative_to(root)}:{line}({name})")
        if len(out) >= limit:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="profile requests in-process")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    state = common.require_state()
    os.environ.setdefault("SHELFSIDE_INSTANCE_PATH", str(common.STATE_DIR / "instance"))
    from contention import reset_hot_row
    from sqlalchemy import event

    from core import db
    from web import create_app

    with common.exclusive("profile_requests"):
        profile_all(args, state, create_app, db, event, reset_hot_row)


def profile_all(args, state, create_app, db, event, reset_hot_row) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": common.sqlalchemy_url(), "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    auth = {"Authorization": f"Bearer {state['api_key']}"}
    statements = [0]
    with app.app_context():

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_):
            statements[0] += 1

    def availability(store):
        def call():
            skus = "&".join(f"sku={common.sku_of(random.randint(1, common.VARIANTS))}" for _ in range(50))
            answer = client.get(f"/api/v1/availability?{skus}" + (f"&store={store}" if store else ""), headers=auth)
            assert answer.status_code == 200, answer.data[:300]

        return call

    reservation = {
        "store": common.HOT_STORE,
        "lines": [{"sku": common.HOT_SKU, "quantity": 1}],
        "kind": "online_order",
        "reference": "bench-profile",
        "expires_in": 3600,
    }

    def reserve():
        answer = client.post("/api/v1/reservations", json=reservation, headers={**auth, "Idempotency-Key": f"bench-profile-{uuid.uuid4().hex}"})
        assert answer.status_code == 201, answer.data[:300]

    def healthz():
        assert client.get("/healthz").status_code == 200

    scenarios = [
        ("availability, 50 SKUs at one store", availability(common.store_code(1)), args.requests),
        ("availability, 50 SKUs at all 50 locations", availability(None), max(20, args.requests // 8)),
        ("reservation, 1 unit (uncontended)", reserve, args.requests),
        ("/healthz (SELECT 1)", healthz, args.requests),
    ]
    reset_hot_row(100_000)
    results = {}
    for label, call, n in scenarios:
        for _ in range(5):
            call()
        statements[0] = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            call()
        wall, cpu = (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000
        per_request_sql = statements[0] / n
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(n):
            call()
        profile.disable()
        results[label] = {
            "requests": n,
            "wall_ms": round(wall, 2),
            "cpu_ms": round(cpu, 2),
            "sql_statements": round(per_request_sql, 1),
            "self_time_share_percent": breakdown(profile),
            "top_project_functions": top_functions(profile),
        }
        print(f"\n== {label}: {wall:.1f} ms wall, {cpu:.1f} ms CPU (client included), {per_request_sql:.1f} SQL statements per request")
        for name, share in results[label]["self_time_share_percent"].items():
            print(f"   {share:5.1f}%  {name}")
        for line in results[label]["top_project_functions"]:
            print(f"   {line}")
    reset_hot_row(100_000)
    with app.app_context():
        db.engine.dispose()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
