"""Try several gunicorn settings on the trivial app and on availability (one store) and print a table.

    .venv/bin/python bench/compare_servers.py [--duration 10] [--configs sync:5:1 gthread:3:4 gthread:2:8]

A config is ``worker_class:workers:threads``.  Used to choose the settings of ``run_all.py``
(set them with BENCH_WORKER_CLASS / BENCH_WORKERS / BENCH_THREADS).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from common import BENCH_DIR, LoadSettings, ServerSettings, app_env, gunicorn, log, run_wrk


def main() -> None:
    parser = argparse.ArgumentParser(description="compare gunicorn settings")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=["sync:5:1", "gthread:3:4", "gthread:2:8", "gthread:4:4"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    state = common.load_state()
    load = LoadSettings(duration=args.duration, warmup=args.warmup)
    script = BENCH_DIR / "availability.lua"
    rows = []
    with common.exclusive("compare_servers"):
        compare(args, state, load, script, rows)
    print("\n| gunicorn | trivial req/s | trivial p99 | one store req/s | one store p50 | one store p99 | ratio | app CPU ms/req (one store) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        t, o = row["trivial"], row["one_store"]
        print(
            f"| {row['config']} | {t['rps']:,.0f} | {t['p99_ms']:.1f} | {o['rps']:,.0f} | {o['p50_ms']:.1f} | {o['p99_ms']:.1f} | {100 * row['ratio']:.1f}% | {o['app_cpu_ms']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def compare(args, state, load, script, rows) -> None:
    for config in args.configs:
        worker_class, workers, threads = config.split(":")
        server = ServerSettings(worker_class=worker_class, workers=int(workers), threads=int(threads))
        with (
            gunicorn("cmp-shelfside", "web:create_app()", server, app_env()) as app,
            gunicorn("cmp-trivial", "trivial_app:create_app()", server, app_env(), pythonpath=str(BENCH_DIR)) as trivial,
        ):
            row = {"config": server.describe()}
            for label, target, script_args in (
                ("trivial", trivial, ["trivial"]),
                ("one_store", app, [state["api_key"], str(common.VARIANTS), "50", "S001"]),
            ):
                run_wrk(f"cmp-{label}-warmup", target.base, script, script_args, load, duration=load.warmup)
                result = run_wrk(f"cmp-{label}", target.base, script, script_args, load, server_pid=target.process.pid)
                row[label] = {
                    "rps": round(result.rps, 1),
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "app_cpu_ms": result.app_cpu_ms_per_request,
                    "db_cpu_ms": result.db_cpu_ms_per_request,
                }
            row["ratio"] = round(row["one_store"]["rps"] / row["trivial"]["rps"], 3)
            rows.append(row)
            log(json.dumps(row))


if __name__ == "__main__":
    main()
