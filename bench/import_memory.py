"""Peak memory and time of a Shopify CSV import, each run in a fresh process on a fresh SQLite file.

    .venv/bin/python bench/shopify_export.py /tmp/products.csv --rows 50000
    .venv/bin/python bench/import_memory.py /tmp/products.csv                 # this checkout
    .venv/bin/python bench/import_memory.py /tmp/products.csv --source /tmp/old-checkout --tracemalloc

Each run migrates an empty database, creates the store ``S1``, then imports the file twice with
``--store S1`` semantics (``import_shopify_csv(..., stock_location="S1")`` and a commit): the
first import writes everything, the second finds nothing changed.  Reported per import: wall
time and this process's CPU time (SQLite runs in it too; the machine's load does not count), the process's peak resident set size (``ru_maxrss``) and how much it rose during that
import; with ``--tracemalloc`` (slower) also the peak of Python allocations during the import.
``--source`` points at another checkout of Shelfside to measure its code on the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, sys, time, tracemalloc
source, path, trace = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, source)
from web import create_app
from core import db
app = create_app()
results = {}
with app.app_context():
    from flask_migrate import upgrade
    upgrade()
    from inventory import Location, import_shopify_csv
    db.session.add(Location(code="S1", name="Store 1", kind="store", timezone="Europe/Berlin"))
    db.session.commit()
    for name in ("first import", "unchanged re-import"):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        rss_before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        if trace:
            tracemalloc.start()
        started = time.perf_counter()
        with open(path, "rb") as handle:
            report = import_shopify_csv(handle, stock_location="S1")
        db.session.commit()
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if trace else None
        if trace:
            tracemalloc.stop()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        rss, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu_before
        db.session.expunge_all()
        results[name] = {
            "seconds": round(elapsed, 1), "cpu_seconds": round(cpu, 1), "peak_rss_mb": round(rss / 1024, 1), "rss_rise_mb": round((rss - rss_before) / 1024, 1),
            "tracemalloc_peak_mb": round(peak / 2**20, 1) if peak is not None else None, "summary": report.summary(),
        }
print(json.dumps(results))
"""


def measure(source: Path, path: Path, trace: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="shelfside-import-bench-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "SHELFSIDE_INSTANCE_PATH": folder,
            "SECRET_KEY": "bench",
            "PYTHONPATH": str(source),
        }
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(source), str(path), "1" if trace else "0"],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(done.stderr)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path, help="a Shopify product CSV (bench/shopify_export.py writes one)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose code imports (default: this one)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()
    results = measure(args.source.resolve(), args.path.resolve(), args.tracemalloc)
    print(f"{args.path} ({args.path.stat().st_size / 1e6:.1f} MB) with the code in {args.source}")
    for name, figures in results.items():
        traced = f", Python allocations peak {figures['tracemalloc_peak_mb']} MB" if figures["tracemalloc_peak_mb"] is not None else ""
        print(
            f"  {name}: {figures['seconds']} s ({figures['cpu_seconds']} s CPU in this process), peak RSS {figures['peak_rss_mb']} MB (+{figures['rss_rise_mb']} MB during it){traced}\n"
            f"    {figures['summary']}"
        )


if __name__ == "__main__":
    main()
