"""Every benchmark, then docs/benchmarks.md.  ``make bench`` runs this.

    .venv/bin/python bench/run_all.py                  # generate if needed, run, write the doc
    .venv/bin/python bench/run_all.py --regenerate     # rebuild the dataset first (and time it)
    .venv/bin/python bench/run_all.py --preliminary --note "shared machine, test suites running"

Steps: generate the dataset when the bench database is missing or incomplete
(bench/generate.py); the availability benchmark (bench/availability.py: Shelfside, the same SQL
through plain psycopg, the trivial endpoint); the contention
benchmark with its oversell check (bench/contention.py); the checkout benchmark (bench/checkout.py,
its own database); the in-process request profile
(bench/profile_requests.py).  Raw results go to bench/results/ (JSON, wrk outputs, server
logs); the figures, the date, the machine and the gunicorn settings go to docs/benchmarks.md.
Everything below the analysis marker in docs/benchmarks.md is hand-written and kept.
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

import availability
import common
import contention
import generate
from common import RESULTS_DIR, ROOT, LoadSettings, ServerSettings, log

DOC = ROOT / "docs" / "benchmarks.md"
ANALYSIS_MARKER = "<!-- analysis: everything below this line is hand-written and kept by bench/run_all.py -->"


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.APP_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=common.APP_ROOT, capture_output=True, text=True
        ).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_profile() -> dict:
    out = RESULTS_DIR / "profile.json"
    subprocess.run(
        [common.PYTHON, str(common.BENCH_DIR / "profile_requests.py"), "--requests", "200", "--json", str(out)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return json.loads(out.read_text())


def run_checkout() -> dict:
    """bench/checkout.py in its own process: it works on its own database (``BENCH_CHECKOUT_DB``), which it
    selects through the environment when imported; the bench lock held here is inherited (BENCH_LOCK_HELD)."""
    out = RESULTS_DIR / "checkout.json"
    subprocess.run([common.PYTHON, str(common.BENCH_DIR / "checkout.py"), "--json", str(out)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def render_checkout(co: dict) -> list[str]:
    s, r, c = co["sales"], co["race"], co["consistency"]
    h1, h2 = co["healthz_before"], co["healthz_after"]
    lines = [
        "## Checkout — 5-line cash sales from 16 tablets, and 64 checkouts of 10 units",
        "",
        f"`bench/checkout.py` (its own database; code `{co['revision']}`): each tablet has its own staff token and register with an open",
        "shift, opens a cart, adds 5 random SKUs (each held) and checks out in cash with an `Idempotency-Key`, over HTTP",
        "(gunicorn as above, Python client threads on the same machine).  *Closed loop*: no pause between requests (capacity;",
        f"latency = {s['tablets']} / throughput).  *Paced*: a random 0.5–1.5 s between two taps, an associate's pace.",
        "",
        "| run | sales/s | checkout p50 ms | checkout p90 ms | checkout p99 ms | sale p50 ms | sale p99 ms | app CPU ms/sale | DB CPU ms/sale | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, run in (("closed loop", s), ("paced", co.get("paced"))):
        if run:
            lines.append(
                f"| {label} | {run['sales_per_second']} | {run['checkout']['p50_ms']} | {run['checkout']['p90_ms']} | {run['checkout']['p99_ms']} | "
                f"{run['whole_sale']['p50_ms']} | {run['whole_sale']['p99_ms']} | {run['app_cpu_ms_per_sale']} | {run['db_cpu_ms_per_sale']} | {run['errors']} |"
            )
    paced = co.get("paced") or s
    lines += [
        "",
        f"`/healthz` from the same {s['tablets']} clients in the same run: {h1['rps']:,} req/s (p50 {h1['p50_ms']} ms, p99 {h1['p99_ms']} ms) before, "
        f"{h2['rps']:,} req/s (p50 {h2['p50_ms']} ms, p99 {h2['p99_ms']} ms) after.  Target: checkout p99 < 100 ms — "
        f"closed loop {yes_no(s['target_p99_met'])}, paced {yes_no(paced['target_p99_met'])}.  Afterwards {c['orders_completed']} of "
        f"{c['orders_answered']} answered sales were completed orders, {c['ledger_mismatches']} stock rows differed from their ledger.",
        "",
        f"**Exactly ten:** {r['carts']} checkouts released together on {r['units']} units → answers {r['statuses']} ({r['error_codes']}); "
        f"afterwards {r['after']} — {'yes' if r['exactly_ten'] else 'NO'}.",
        "",
    ]
    st = co.get("statements") or {}
    if "statements_per_request" in st:
        lines += [
            "SQL statements per request, in process: " + ", ".join(f"{k} {v}" for k, v in st["statements_per_request"].items()) + ".",
            "",
        ]
    return lines


# --- the document --------------------------------------------------------------------------


def yes_no(flag: bool) -> str:
    return "**met**" if flag else "**missed**"


def render(results: dict) -> str:
    m, st, av, ct = results["machine"], results["dataset"], results["availability"], results["contention"]
    runs = av["runs"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`.venv/bin/python bench/run_all.py`); how to run each part and what it",
        "measures is in [bench/README.md](../bench/README.md).  Raw outputs of the last run: `bench/results/`.",
        "",
    ]
    if results.get("preliminary"):
        lines += [
            "> **PRELIMINARY FIGURES.** Taken on a shared 2-core machine while other engineers' test suites",
            "> were running on it (load average at start "
            + ", ".join(f"{x:.2f}" for x in m["loadavg_at_start"])
            + f"; at the end {', '.join(f'{x:.2f}' for x in results['loadavg_at_end'])}).",
            "> Requests/s and latencies are noisy and pessimistic; the CPU-per-request columns and the",
            "> in-process profile are the more reliable numbers.  Re-run `make bench` on a quiet machine for the final figures.",
        ]
        if results.get("note"):
            lines.append(f"> Note: {results['note']}")
        lines.append("")
    elif m["loadavg_at_start"][0] > 0.5 * (m["nproc"] or 1):
        # only the load at the start tells: at the end the 1-minute average is the benchmark's own
        lines += [
            f"> **Warning:** the machine was not idle when the run began (1-minute load average "
            f"{m['loadavg_at_start'][0]:.2f} on {m['nproc']} cores): other processes shared the CPUs.",
            "",
        ]
    else:
        lines += [
            f"> The machine was idle when the run began (1-minute load average {m['loadavg_at_start'][0]:.2f} on "
            f"{m['nproc']} cores); the load at the end ({results['loadavg_at_end'][0]:.2f}) is the benchmark's own.",
            "",
        ]
    lines += [
        f"- **Date:** {results['date']}  ·  **code:** `{results['revision']}`",
        f"- **Machine:** {m['nproc']} CPU cores ({m['cpu']}), {m['memory_gb']} GB RAM, Linux {m['kernel']}, Python {m['python']}",
        f"- **PostgreSQL:** {m['postgresql']} on the same machine ("
        + ", ".join(f"{k} {v}" for k, v in sorted(m["postgresql_settings"].items()))
        + ")",
        f"- **Load tool:** {m['wrk']}, {av['load']['wrk_threads']} threads, {av['load']['connections']} connections, "
        f"{av['load']['warmup']} s warm-up then {av['load']['duration']} s measured per run, on the same machine",
        f"- **gunicorn:** {av['server']} — the same for Shelfside (`'web:create_app()'`) and the trivial app "
        "(`bench/trivial_app.py`); `RATELIMIT_ENABLED=false`",
        "",
        "## Dataset",
        "",
        f"{st['shape']['products']:,} products, {st['shape']['variants']:,} variants (one EAN-13 each), "
        f"{st['shape']['locations']} locations ({st['shape']['stores']} stores and a warehouse), "
        f"{st['checks']['counts']['stock_level']:,} stock rows and {st['checks']['counts']['stock_movement']:,} ledger lines "
        f"(one `receive` per non-zero row; {st['checks']['ledger_mismatches']} rows whose on hand differs from the sum of their movements). "
        f"Database size {st['checks']['database_size']}.",
        "",
        f"**Generation time: {st['generation_seconds']:.1f} s** (generated {st['generated_at']}"
        + ("" if results.get("regenerated") else "; the database was already complete, so this run reused it")
        + ").",
        "",
        "| step | seconds |",
        "| --- | ---: |",
    ]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in st["steps"].items()]
    lines += [
        "",
        "## Availability — `GET /api/v1/availability`",
        "",
        "50 random SKUs per request (out of 100,000), a fresh random set every request.  *One store*: `store=S001`, 50 items.",
        "*All stores*: no `store`, 50 × 50 = 2,500 items.  The trivial endpoint ran before and after (its mean is the reference);",
        "`/healthz` is Shelfside's own floor (the whole middleware stack and one `SELECT 1`).  *Plain psycopg* is",
        "`bench/raw_availability_app.py`: the same SQL and the same answer (checked before the runs) through Flask and psycopg 3",
        "alone, under the same gunicorn settings: no SQLAlchemy, flask-smorest, authentication or unit of work.",
        "",
        "| endpoint | req/s | p50 ms | p90 ms | p99 ms | share of trivial req/s | app CPU ms/req | DB CPU ms/req | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    labels = {
        "trivial_1": "trivial (before)",
        "one_store": "availability, one store",
        "raw_one_store": "one store, plain psycopg",
        "all_stores": "availability, all stores",
        "raw_all_stores": "all stores, plain psycopg",
        "healthz": "Shelfside /healthz",
        "trivial_2": "trivial (after)",
    }
    for key in ("trivial_1", "one_store", "raw_one_store", "all_stores", "raw_all_stores", "healthz", "trivial_2"):
        if key not in runs:  # results from before the plain psycopg endpoint existed
            continue
        r = runs[key]
        share = f"{100 * r['rps'] / av['trivial_rps']:.1f}%"
        errors = r["non_2xx"] + sum(r["socket_errors"][k] for k in ("connect", "read", "write", "timeout"))
        lines.append(
            f"| {labels[key]} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {share} | "
            f"{r['app_cpu_ms_per_request']} | {r['db_cpu_ms_per_request']} | {errors} |"
        )
    lines += [
        "",
        "Targets (32 connections): at least 30% of the trivial endpoint's throughput, p99 under 50 ms.",
        "",
        "| scenario | throughput ≥ 30% of trivial | p99 < 50 ms |",
        "| --- | --- | --- |",
        f"| one store | {yes_no(runs['one_store']['target_ratio_met'])} ({100 * runs['one_store']['ratio_to_trivial']:.1f}%) | "
        f"{yes_no(runs['one_store']['target_p99_met'])} ({runs['one_store']['p99_ms']:.0f} ms) |",
        f"| all stores | {yes_no(runs['all_stores']['target_ratio_met'])} ({100 * runs['all_stores']['ratio_to_trivial']:.1f}%) | "
        f"{yes_no(runs['all_stores']['target_p99_met'])} ({runs['all_stores']['p99_ms']:.0f} ms) |",
        "",
    ]
    cost = av.get("framework_cost")
    if cost:
        lines += [
            "What the framework costs and what the database costs, per request (CPU ms; the plain endpoint runs the same SQL):",
            "",
            "| scenario | Shelfside app | plain psycopg app | framework (difference) | database, Shelfside | database, plain | plain req/s as share of trivial | Shelfside req/s as share of plain |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for scenario, label in (("one_store", "one store"), ("all_stores", "all stores")):
            c = cost[scenario]
            lines.append(
                f"| {label} | {c['shelfside_app_cpu_ms']} | {c['raw_app_cpu_ms']} | {c['framework_app_cpu_ms']} | {c['shelfside_db_cpu_ms']} | "
                f"{c['raw_db_cpu_ms']} | {100 * c['raw_rps_share_of_trivial']:.1f}% | {100 * c['shelfside_rps_share_of_raw']:.1f}% |"
            )
        lines.append("")
    lines += [
        "## Contention — many clients reserving one SKU at one store",
        "",
    ]
    http, raw, ov = ct["http"], ct["raw"], ct["oversell"]
    lines += [
        f"`POST /api/v1/reservations` (quantity 1, a fresh `Idempotency-Key` each) for {ct['hot_row']['sku']} at {ct['hot_row']['store']}, "
        f"starting from 100,000 on hand, {http.get('duration_s', 0):.0f} s at {ct['load']['connections']} connections (wrk, bench/reserve.lua); "
        f"beside it the raw loop: {raw['connections']} autocommit psycopg connections each running "
        "`UPDATE stock_level SET reserved = reserved + 1 WHERE id = %s AND on_hand - reserved >= 1` on the same row.",
        "",
        "| path | reservations/s | p50 ms | p99 ms | CPU ms per reservation |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| HTTP, Shelfside | {http['reservations_per_s']:,.1f} | {http['p50_ms']:.1f} | {http['p99_ms']:.1f} | "
        f"app {http['app_cpu_ms_per_request']}, DB {http['db_cpu_ms_per_request']} |",
        f"| raw conditional UPDATE loop | {raw['rps']:,.1f} | — | — | DB {raw['db_cpu_ms_per_update']} |",
        "",
        f"HTTP answers: {http['statuses']} (wrk counted {http['reservations']} × 201; the database holds {http['db_reserved_after']} "
        f"reserved units in {http['db_held_reservations']} held reservations once the requests queued when wrk stopped had finished; "
        f"ledger consistent: {http['ledger_ok']}).",
        "",
        f"**Ratio HTTP / raw: {100 * ct['ratio_to_raw']:.1f}%** — target at least 30%: {yes_no(ct['target_ratio_met'])}.",
        "",
        "### No oversell",
        "",
        f"{ov['units']} units on hand, {ov['requests']:,} reservation requests from {ov['clients']} concurrent clients "
        f"({ov['seconds']} s): answers {ov['statuses']} (error codes {ov['error_codes']}).  Afterwards on hand {ov['after']['on_hand']}, "
        f"reserved {ov['after']['reserved']}, available {ov['after']['available']}, {ov['after']['held_reservations']} held reservations "
        f"holding {ov['after']['held_units']} units, ledger sum {ov['after']['ledger_sum']}.",
        "",
        f"**Zero oversell: {'yes' if ov['zero_oversell'] else ('VOID — another process changed the hot row during the check; re-run' if ov.get('interfered') else 'NO — see bench/results/contention.json')}** "
        f"(exactly {ov['units']} × 201, the rest 409 `insufficient_stock`, reserved = {ov['units']}, on hand − reserved = 0).",
        "",
    ]
    if results.get("checkout"):
        lines += render_checkout(results["checkout"])
    prof = results.get("profile")
    if prof:
        lines += [
            "## Where a request's CPU goes (in-process profile)",
            "",
            "`bench/profile_requests.py`: the app in one process through Flask's test client (no HTTP server, no load tool),",
            "so other processes on the machine hardly affect it.  CPU includes the test client's own small share.",
            "",
            "| request | wall ms | CPU ms | SQL statements | largest shares of profiled time (psycopg's includes waiting for PostgreSQL) |",
            "| --- | ---: | ---: | ---: | --- |",
        ]
        for label, r in prof.items():
            shares = ", ".join(f"{name} {share:.0f}%" for name, share in list(r["self_time_share_percent"].items())[:4])
            lines.append(f"| {label} | {r['wall_ms']:.1f} | {r['cpu_ms']:.1f} | {r['sql_statements']:.0f} | {shares} |")
        lines.append("")
    return "\n".join(lines)


def write_doc(results: dict) -> None:
    kept = ""
    if DOC.exists():
        text = DOC.read_text()
        if ANALYSIS_MARKER in text:
            kept = text.split(ANALYSIS_MARKER, 1)[1]
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render(results).rstrip() + "\n\n" + ANALYSIS_MARKER + (kept if kept else "\n"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", action="store_true", help="rebuild the bench database even when it is complete")
    parser.add_argument("--preliminary", action="store_true", help="mark the figures as preliminary (busy or shared machine)")
    parser.add_argument("--note", default="", help="a sentence added to the preliminary warning")
    parser.add_argument("--no-profile", action="store_true", help="skip the in-process profile")
    parser.add_argument("--no-checkout", action="store_true", help="skip the checkout benchmark (bench/checkout.py)")
    parser.add_argument("--render-only", type=Path, default=None, help="re-render docs/benchmarks.md from a results JSON")
    args = parser.parse_args()
    if args.render_only:
        write_doc(json.loads(args.render_only.read_text()))
        return

    with common.exclusive("run_all"):
        run_everything(args)


def run_everything(args) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.time()
    machine = common.machine()
    log(f"machine: {machine['nproc']} cores, {machine['cpu']}, PostgreSQL {machine['postgresql']}, load {machine['loadavg_at_start']}")
    complete, why = (False, "--regenerate") if args.regenerate else generate.is_complete()
    if complete:
        log(f"{common.BENCH_DB} is complete; reusing it")
        state = common.load_state()
    else:
        log(f"generating {common.BENCH_DB} ({why})")
        state = generate.generate()
    server, load = ServerSettings(), LoadSettings()
    log(f"gunicorn: {server.describe()}")
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "revision": git_revision(),
        "machine": machine,
        "preliminary": args.preliminary,
        "note": args.note,
        "regenerated": not complete,
        "dataset": {k: v for k, v in state.items() if not k.startswith("api_key")},
    }
    results["availability"] = availability.run(state, server, load)
    (RESULTS_DIR / "availability.json").write_text(json.dumps(results["availability"], indent=2))
    results["contention"] = contention.run(state, server, load)
    (RESULTS_DIR / "contention.json").write_text(json.dumps(results["contention"], indent=2))
    if not args.no_checkout:
        log("checkout (bench/checkout.py)")
        results["checkout"] = run_checkout()
    if not args.no_profile:
        log("in-process profile")
        results["profile"] = run_profile()
    results["loadavg_at_end"] = os.getloadavg()
    results["elapsed_s"] = round(time.time() - started)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=2))
    write_doc(results)
    log(f"wrote {DOC.relative_to(ROOT)} in {results['elapsed_s']} s")


if __name__ == "__main__":
    main()
