"""Availability benchmark: GET /api/v1/availability under wrk, beside a trivial Flask endpoint.

    .venv/bin/python bench/availability.py [--duration 20] [--connections 32] [--json out.json]

Serves, with the same gunicorn settings (worker class, workers, threads, keep-alive):

* Shelfside, ``'web:create_app()'``, against the bench database (DATABASE_URL, RATELIMIT_ENABLED=false);
* ``bench/raw_availability_app.py``, the same availability SQL and answer through plain psycopg 3
  and Flask (no SQLAlchemy, no flask-smorest, no authentication, no unit of work);
* ``bench/trivial_app.py``, one route answering a small JSON document.

Before measuring, the raw endpoint's answer is checked against Shelfside's for the same SKUs.
Then wrk drives them (a separate process, ``--latency``, 32 connections), each run after a
warm-up, in this order:

  trivial → one store (50 random SKUs, ``store=S001``) → the same through plain psycopg → all
  stores (50 random SKUs, no store: 50 × 50 = 2,500 items) → the same through plain psycopg →
  Shelfside's /healthz (the app's floor: full middleware, one ``SELECT 1``) → trivial again

and reports requests/s, p50, p90, p99 for each and the ratio to the trivial endpoint (the
mean of its two runs, which brackets the others so drift on a busy machine shows), plus the
CPU milliseconds per request spent in gunicorn and in the PostgreSQL backends (a cost that
other processes on a shared machine do not distort the way they distort requests/s).  Shelfside's
app CPU minus the plain endpoint's is what the framework costs per request; the database CPU is
what the query costs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import BENCH_DIR, LoadSettings, ServerSettings, app_env, gunicorn, log, run_wrk

SKUS_PER_REQUEST = 50


def check_answer(base: str, key: str, store: str | None) -> dict:
    """One request by hand: the endpoint answers 200 with the expected number of items."""
    skus = [common.sku_of(random.randint(1, common.VARIANTS)) for _ in range(SKUS_PER_REQUEST)]
    query = "&".join(f"sku={s}" for s in skus) + (f"&store={store}" if store else "")
    request = urllib.request.Request(f"{base}/api/v1/availability?{query}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    data = json.loads(body)
    expected = len(set(skus)) * (1 if store else common.LOCATIONS)
    if len(data["items"]) != expected or data["unknown"]:
        raise RuntimeError(f"availability answered {len(data['items'])} items, expected {expected}")
    return {"items": len(data["items"]), "bytes": len(body)}


def same_answers(shelfside: str, raw: str, key: str, store: str | None) -> None:
    """The plain-psycopg endpoint answers exactly what Shelfside answers for the same SKUs."""
    skus = [common.sku_of(random.randint(1, common.VARIANTS)) for _ in range(SKUS_PER_REQUEST)] + ["NO-SUCH-SKU"]
    query = "&".join(f"sku={s}" for s in skus) + (f"&store={store}" if store else "")
    answers = []
    for base in (shelfside, raw):
        request = urllib.request.Request(f"{base}/api/v1/availability?{query}", headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            answers.append(json.loads(answer.read()))
    if answers[0] != answers[1]:
        raise RuntimeError(f"the plain psycopg endpoint answers differently from Shelfside ({store or 'all stores'})")


def run(state: dict, server: ServerSettings, load: LoadSettings) -> dict:
    key = state["api_key"]
    script = BENCH_DIR / "availability.lua"
    store = common.store_code(1)
    results: dict = {"server": server.describe(), "server_settings": server.__dict__, "load": load.__dict__, "runs": {}}
    env = app_env()
    raw_env = app_env(BENCH_RAW_DSN=common.dsn() + f" application_name={common.APP_NAME}")
    with (
        gunicorn("shelfside", "web:create_app()", server, env) as app,
        gunicorn("trivial", "trivial_app:create_app()", server, env, pythonpath=str(BENCH_DIR)) as trivial,
        gunicorn("raw-psycopg", "raw_availability_app:create_app()", server, raw_env, pythonpath=str(BENCH_DIR)) as raw,
    ):
        results["answers"] = {"one_store": check_answer(app.base, key, store), "all_stores": check_answer(app.base, key, None)}
        same_answers(app.base, raw.base, key, store)
        same_answers(app.base, raw.base, key, None)
        results["raw_answers_checked"] = True
        servers = {app.base: app, trivial.base: trivial, raw.base: raw}
        plan = [
            ("trivial_1", trivial.base, ["trivial"]),
            ("one_store", app.base, [key, str(common.VARIANTS), str(SKUS_PER_REQUEST), store]),
            ("raw_one_store", raw.base, [key, str(common.VARIANTS), str(SKUS_PER_REQUEST), store]),
            ("all_stores", app.base, [key, str(common.VARIANTS), str(SKUS_PER_REQUEST), "ALL"]),
            ("raw_all_stores", raw.base, [key, str(common.VARIANTS), str(SKUS_PER_REQUEST), "ALL"]),
            ("healthz", app.base, ["healthz"]),
            ("trivial_2", trivial.base, ["trivial"]),
        ]
        for label, base, args in plan:
            if load.warmup:
                run_wrk(f"{label}-warmup", base, script, args, load, duration=load.warmup)
            log(f"availability: {label} for {load.duration}s at {load.connections} connections")
            pid = servers[base].process.pid
            result = run_wrk(f"availability-{label}", base, script, args, load, server_pid=pid)
            results["runs"][label] = result.as_dict()
            log(
                f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, non-2xx {result.non_2xx}, "
                f"errors {result.socket_errors}; CPU per request: app {result.app_cpu_ms_per_request} ms, database {result.db_cpu_ms_per_request} ms"
            )
            time.sleep(1)
    runs = results["runs"]
    trivial_rps = (runs["trivial_1"]["rps"] + runs["trivial_2"]["rps"]) / 2
    results["trivial_rps"] = trivial_rps
    for label in ("one_store", "raw_one_store", "all_stores", "raw_all_stores", "healthz"):
        run_ = runs[label]
        run_["ratio_to_trivial"] = run_["rps"] / trivial_rps
        run_["target_ratio_met"] = run_["ratio_to_trivial"] >= 0.30
        run_["target_p99_met"] = run_["p99_ms"] < 50
        run_["clean"] = run_["non_2xx"] == 0 and not any(run_["socket_errors"][k] for k in ("connect", "read", "write", "timeout"))
    # what the framework costs: Shelfside's app CPU per request above the plain psycopg endpoint's
    results["framework_cost"] = {
        scenario: {
            "shelfside_app_cpu_ms": runs[scenario]["app_cpu_ms_per_request"],
            "raw_app_cpu_ms": runs[f"raw_{scenario}"]["app_cpu_ms_per_request"],
            "framework_app_cpu_ms": _difference(runs[scenario]["app_cpu_ms_per_request"], runs[f"raw_{scenario}"]["app_cpu_ms_per_request"]),
            "shelfside_db_cpu_ms": runs[scenario]["db_cpu_ms_per_request"],
            "raw_db_cpu_ms": runs[f"raw_{scenario}"]["db_cpu_ms_per_request"],
            "raw_rps_share_of_trivial": runs[f"raw_{scenario}"]["ratio_to_trivial"],
            "shelfside_rps_share_of_raw": runs[scenario]["rps"] / runs[f"raw_{scenario}"]["rps"],
        }
        for scenario in ("one_store", "all_stores")
    }
    return results


def _difference(a, b):
    return None if a is None or b is None else round(a - b, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description="availability benchmark")
    common.add_settings_arguments(parser)
    args = parser.parse_args()
    state = common.require_state()
    server, load = common.settings_from(args)
    with common.exclusive("availability"):
        results = run(state, server, load)
    common.print_results(results, args.json)


if __name__ == "__main__":
    main()
