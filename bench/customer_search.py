"""Customer search at 200,000 customers: name prefixes, emails and phones through the API.

    .venv/bin/python bench/customer_search.py [--customers 200000] [--searches 1000] [--keep]

Builds its own PostgreSQL database (``shelfside_bench_customers``, ``BENCH_CUSTOMER_DB``; never
the development, test or availability databases): migrated with Alembic, then 200,000
customers with an email, a phone and a loyalty card each (600,000 identities), loaded with
psycopg 3 ``COPY`` and analysed.  Names come from lists of German, Dutch, Turkish and other
first and last names (with accents, hyphenated double names), so that a prefix matches as many
profiles as it would in a real store's list.

Then it runs the app in this process (Flask test client, no HTTP server: the figures are the
request's own cost) with an admin's staff token and fires ``--searches`` searches (default
1,000, after 100 of warm-up) of ``GET /api/v1/customers?q=``: half name prefixes (one or two
words, 3 to 6 letters each), a quarter exact emails, a quarter phone numbers in national or
international form.  Prints p50/p90/p99/max wall milliseconds per kind and overall (target
p99 < 50 ms), and the ``EXPLAIN (ANALYZE, BUFFERS)`` plan of a name search, which must use the
trigram index ``ix_customer_search_name_trgm``.  The results go to
``bench/results/customer_search.txt`` too.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

sys.path.insert(1, str(common.APP_ROOT))

DB = os.environ.get("BENCH_CUSTOMER_DB", "shelfside_bench_customers")
RESULT = common.RESULTS_DIR / "customer_search.txt"

FIRST = (
    "Anna Anne Annika Anja Antje Ben Benedikt Bernd Birgit Björn Carla Carsten Christian Christina Clara Daniel Daniela David Dennis "
    "Dirk Elena Elias Elif Emil Emilia Emma Erik Eva Fabian Felix Finn Florian Frank Franziska Frieda Gabriele Georg Hannah Hans Heike "
    "Helena Henrik Ida Ines Isabel Jan Jana Jannik Jasper Jens Johanna Jonas Josef Julia Julian Jürgen Karin Katharina Kerstin Klaus "
    "Lara Laura Lea Lena Leon Lina Linus Lisa Lotte Luca Lukas Maja Mara Marie Mario Mark Martin Mats Max Maximilian Mehmet Merve Mia "
    "Michael Milan Mila Moritz Nele Niklas Nina Noah Noor Ole Oliver Paul Paula Peter Petra Philipp Pia Ralf Renate Robin Sabine Sam "
    "Sander Sara Sebastian Selin Simon Sofia Sophie Stefan Susanne Sven Thomas Tim Tobias Ursula Valentina Vincent Wolfgang Yusuf Zoë "
    "Ömer Ayşe Özlem Beatriz João José Łukasz Agnieszka Søren Åsa Chloé Léa Noé François Hélène Andrés Inês Niamh Siobhán"
).split()
LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter Klein Wolf Schröder "
    "Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier "
    "Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich Keller "
    "Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher "
    "Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel "
    "Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer de_Jong Jansen de_Vries van_Dijk Bakker Janssen Visser Smit Meijer de_Boer "
    "Mulder de_Groot Bos Vos Peters Hendriks van_Leeuwen Dekker Brouwer de_Wit Dijkstra Smits de_Graaf van_der_Meer Yılmaz Kaya Demir Şahin "
    "Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Kowalski Nowak Wiśniewski Dąbrowski Lewandowski Rossi Russo "
    "Ferrari Esposito Bianchi Romano Colombo García Martínez López González Rodríguez Fernández Silva Santos Ferreira Pereira Costa "
    "Dubois Lefèvre Moreau Laurent Girard Nielsen Jensen Hansen Andersen Larsen O'Brien Murphy Kelly"
).split()


def names(n: int, rng: random.Random) -> list[str]:
    out = []
    for _ in range(n):
        last = rng.choice(LAST).replace("_", " ")
        if rng.random() < 0.08:
            last = f"{last}-{rng.choice(LAST).replace('_', ' ')}"
        first = rng.choice(FIRST)
        if rng.random() < 0.1:
            first = f"{first}-{rng.choice(FIRST)}"
        out.append(f"{first} {last}")
    return out


def ascii_local(name: str) -> str:
    from clienteling import fold

    return "".join(ch for ch in fold(name).replace(" ", ".") if ch.isascii() and (ch.isalnum() or ch in ".-"))


def make_app(url: str):
    os.environ.setdefault("SHELFSIDE_INSTANCE_PATH", str(common.STATE_DIR / "instance-customers"))
    from web import create_app
    from web.config import TestConfig

    class Bench(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        TESTING = False
        PROPAGATE_UNEXPECTED = True

    return create_app(Bench)


def generate(app, count: int, rng: random.Random) -> dict:
    """Drop and recreate the database, migrate it, load ``count`` customers; answers timings and samples."""
    from flask_migrate import upgrade

    timings = {}
    started = time.perf_counter()
    with common.connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB}"')
    with app.app_context():
        upgrade()
    timings["migrate_s"] = round(time.perf_counter() - started, 2)

    from clienteling.customers import search_words

    started = time.perf_counter()
    now = datetime(2026, 12, 1, tzinfo=UTC).isoformat()
    people = names(count, rng)
    phones = rng.sample(range(10_000_000, 99_999_999), count)
    loyalty = rng.sample(range(1_000_000_000, 9_999_999_999), count)
    customers, identities = io.StringIO(), io.StringIO()
    identity_id = 0
    for index, name in enumerate(people, start=1):
        email = f"{ascii_local(name)}.{index}@example.com"
        phone = f"+4930{phones[index - 1]}"
        code = f"SH{loyalty[index - 1]}"
        search_name = " ".join(search_words(name))
        customers.write(f"{index}\tcus_{index:024x}\t{name}\tcustomer\t{code}\t{{}}\t{{}}\t[]\t{search_name}\t{now}\t{now}\n")
        for kind, value in (("email", email), ("phone", phone), ("loyalty", code)):
            identity_id += 1
            identities.write(f"{identity_id}\t{index}\t{kind}\t{value}\t{now}\n")
    with common.connect(DB) as conn:
        with conn.cursor() as cur:
            with cur.copy(
                "COPY customer (id, public_id, name, kind, loyalty_code, sizes, preferences, tags, search_name, created_at, updated_at) FROM STDIN"
            ) as copy:
                copy.write(customers.getvalue())
            with cur.copy("COPY customer_identity (id, customer_id, kind, value, created_at) FROM STDIN") as copy:
                copy.write(identities.getvalue())
            cur.execute("SELECT setval('customer_id_seq', (SELECT max(id) FROM customer))")
            cur.execute("SELECT setval('customer_identity_id_seq', (SELECT max(id) FROM customer_identity))")
    timings["load_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    with common.connect(DB) as conn:
        conn.execute("VACUUM ANALYZE customer")
        conn.execute("VACUUM ANALYZE customer_identity")
    timings["analyze_s"] = round(time.perf_counter() - started, 2)
    return timings


def existing(count: int) -> bool:
    """The database holds ``count`` customers already (``--reuse``)."""
    try:
        with common.connect(DB) as conn:
            return conn.execute("SELECT count(*) FROM customer").fetchone()[0] == count
    except Exception:
        return False


def samples(n: int, seed: int) -> list[dict]:
    """``n`` customers picked at random, with their email and phone."""
    with common.connect(DB) as conn:
        conn.execute("SELECT setseed(%s)", (seed / 1000,))
        rows = conn.execute(
            """SELECT c.name, e.value, p.value FROM customer c
               JOIN customer_identity e ON e.customer_id = c.id AND e.kind = 'email'
               JOIN customer_identity p ON p.customer_id = c.id AND p.kind = 'phone'
               WHERE c.id IN (SELECT id FROM customer ORDER BY random() LIMIT %s)""",
            (n,),
        ).fetchall()
    return [{"name": name, "email": email, "phone": phone} for name, email, phone in rows]


def staff_token(app) -> str:
    from accounts import create_staff
    from core import db

    with app.app_context():
        create_staff("bench-admin@example.com", "Bench Admin", "admin", "bench-password-1", [])
        db.session.commit()
    answer = app.test_client().post("/api/v1/staff/tokens", json={"email": "bench-admin@example.com", "password": "bench-password-1"})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["token"]


def queries(samples: list[dict], n: int, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        person = rng.choice(samples)
        words = [word for word in person["name"].replace("-", " ").split() if len(word) >= 3]
        kind = ("name",) * 9 + ("typo",) + ("email",) * 5 + ("phone",) * 5
        kind = kind[i % 20]
        if kind == "typo":  # letters that start no name: the worst case for walking the name index in order
            q = "".join(rng.choice("qxzjvy") for _ in range(rng.randint(3, 5)))
        elif kind == "name":
            if rng.random() < 0.5:
                q = words[-1][: rng.randint(3, 6)]  # a last name's start as typed: "Schm", "Müll"
            else:
                q = f"{words[0][: rng.randint(3, 6)]} {words[-1][: rng.randint(3, 6)]}"  # "Anna Schm"
            if rng.random() < 0.5:
                q = q.lower()
        elif kind == "email":
            q = person["email"].upper() if rng.random() < 0.2 else person["email"]
        else:
            national = "0" + person["phone"][3:]
            q = f"{national[:3]} {national[3:]}" if rng.random() < 0.5 else person["phone"]
        out.append((kind, q))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def explain(app, q: str) -> str:
    """The plan of the name search the API runs for ``q`` (captured from the app, run with EXPLAIN)."""
    from sqlalchemy import event

    import clienteling
    from core import db

    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM customer" in statement and "search_name" in statement and "LIKE" in statement:
            captured.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            clienteling.search_page(q, 25)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            return "\n".join(row[0] for row in cur.fetchall())
        finally:
            raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the database when it holds --customers customers")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    url = common.sqlalchemy_url(DB)
    app = make_app(url)
    if args.reuse and existing(args.customers):
        generated = {"migrate_s": "-", "load_s": "-", "analyze_s": "-"}
        with common.connect(DB) as conn:
            conn.execute("DELETE FROM staff_session")
            conn.execute("DELETE FROM staff WHERE email = 'bench-admin@example.com'")
    else:
        generated = generate(app, args.customers, rng)
    token = staff_token(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    plan_queries = ("schm", "anna schm", "qxzy")  # common, two words, none
    work = queries(samples(2000, args.seed), args.warmup + args.searches, rng)
    from sqlalchemy import event

    from core import db

    timings: dict[str, list[float]] = {"name": [], "typo": [], "email": [], "phone": []}
    cpu: dict[str, list[float]] = {kind: [] for kind in timings}
    found = dict.fromkeys(timings, 0)
    statements = [0]

    def count(*args):
        statements[0] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
    slowest = []
    for index, (kind, q) in enumerate(work):
        statements[0] = 0
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = client.get("/api/v1/customers", query_string={"q": q}, headers=headers)
        elapsed, used = (time.perf_counter() - started) * 1000, (time.process_time() - started_cpu) * 1000
        assert answer.status_code == 200, (q, answer.get_json())
        if index >= args.warmup:
            timings[kind].append(elapsed)
            cpu[kind].append(used)
            found[kind] += bool(answer.get_json()["items"])
            slowest.append((elapsed, kind, q, statements[0]))
    per_request = statements[0]
    plans = {q: explain(app, q) for q in plan_queries}
    everything = [t for values in timings.values() for t in values]
    lines = [
        f"customer search: {args.customers:,} customers ({args.customers * 3:,} identities), {args.searches:,} searches after {args.warmup} of warm-up,",
        "in process (Flask test client, admin staff token), PostgreSQL, GET /api/v1/customers?q=... (25 per page)",
        f"generated: migrate {generated['migrate_s']} s, COPY {generated['load_s']} s, VACUUM ANALYZE {generated['analyze_s']} s",
        "",
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (wall times include waiting for a busy CPU; app CPU is this process only)",
        f"SQL statements per search: {per_request} (the last one's)",
        "",
        f"{'kind':<8}{'n':>6}{'found':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'app CPU p50':>13}{'p99':>7}",
    ]
    every_cpu = [t for values in cpu.values() for t in values]
    for kind, values in [*timings.items(), ("all", everything)]:
        hits = sum(found.values()) if kind == "all" else found[kind]
        used = every_cpu if kind == "all" else cpu[kind]
        lines.append(
            f"{kind:<8}{len(values):>6}{hits:>7}{statistics.median(values):>9.1f}{percentile(values, 90):>9.1f}{percentile(values, 99):>9.1f}"
            f"{max(values):>9.1f}{statistics.median(used):>13.1f}{percentile(used, 99):>7.1f}"
        )
    p99 = percentile(everything, 99)
    lines += ["", f"target p99 < 50 ms: {'met' if p99 < 50 else 'NOT MET'} ({p99:.1f} ms)"]
    lines += [
        "",
        "slowest 5 (wall ms, kind, q, statements): "
        + "; ".join(f"{ms:.0f} {kind} {q!r} {n}" for ms, kind, q, n in sorted(slowest, reverse=True)[:5]),
    ]
    for q, plan in plans.items():
        index = next((name for name in ("ix_customer_search_name_trgm", "ix_customer_search_name") if name in plan), "no index")
        lines += ["", f"EXPLAIN (ANALYZE, BUFFERS) of the name search q={q!r} (uses {index}):", plan]
    text = "\n".join(lines)
    print(text)
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(text + "\n")
    with app.app_context():
        from core import db

        db.engine.dispose()


if __name__ == "__main__":
    main()
