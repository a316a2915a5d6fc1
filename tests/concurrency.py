"""Helpers for tests that race two transactions on PostgreSQL's row locks.

``interleave(app, first, second)`` runs two units of work in two threads, each with its own
application context, session and connection, and forces the dangerous order: ``first`` runs
until just after its n-th row-locking statement and stays there, holding what it has locked,
while ``second`` starts; once ``second`` is seen waiting for a lock (``pg_stat_activity``), or
has finished, ``first`` goes on.  A path that takes locks in an order another path reverses
deadlocks here every time (PostgreSQL aborts one of the two after ``deadlock_timeout``), where
an unforced race would deadlock only now and then.

``race(app, works)`` releases several units of work together with a ``threading.Barrier``.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import event, text

from core import db
from core.errors import DomainError

# a statement that takes a row lock: SELECT ... FOR [NO KEY] UPDATE, or an UPDATE
LOCKING = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b|^\s*(WITH\b.*?\)\s*)?UPDATE\s", re.I | re.S)


@dataclass
class Outcome:
    """How one unit of work ended: ``ok`` (committed), ``refused`` (a domain error: 409/422 territory,
    rolled back) or ``error`` (anything else — a deadlock, a constraint violation: a 500 over HTTP)."""

    kind: str
    value: object = None

    def __repr__(self):
        return f"{self.kind}:{self.value!r}"


def _run(work) -> Outcome:
    try:
        value = work()
        db.session.commit()
        return Outcome("ok", value)
    except DomainError as error:
        db.session.rollback()
        return Outcome("refused", f"{error.code}: {error.message}")
    except Exception as error:
        db.session.rollback()
        return Outcome("error", f"{error.__class__.__name__}: {str(error).splitlines()[0]}")


@dataclass
class Interleaving:
    first: Outcome | None = None
    second: Outcome | None = None
    paused: bool = False  # first reached its pause point
    second_blocked: bool = False  # second was seen waiting for a lock that first held
    statements: list = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return [self.first, self.second]


def interleave(app, first, second, pause_after: int = 1, pattern=LOCKING, wait_seconds: float = 5.0) -> Interleaving:
    """Run ``first`` and ``second`` (callables doing one unit of work, committed when they return)
    in two threads; ``first`` pauses after its ``pause_after``-th statement matching ``pattern``."""
    result = Interleaving()
    paused, resume, second_done = threading.Event(), threading.Event(), threading.Event()
    second_pid: list[int] = []
    first_thread: list[int] = []
    seen = [0]

    def after_execute(conn, cursor, statement, parameters, context, executemany):
        if first_thread and threading.get_ident() == first_thread[0] and pattern.search(statement):
            seen[0] += 1
            result.statements.append(" ".join(statement.split())[:120])
            if seen[0] == pause_after:
                paused.set()
                resume.wait(wait_seconds * 3)

    def run_first():
        with app.app_context():
            first_thread.append(threading.get_ident())
            try:
                result.first = _run(first)
            finally:
                paused.set()  # never paused (fewer locking statements than expected): let second go
                db.session.remove()

    def run_second():
        with app.app_context():
            try:
                second_pid.append(db.session.execute(text("SELECT pg_backend_pid()")).scalar())
                paused.wait(wait_seconds * 3)
                result.second = _run(second)
            finally:
                second_done.set()
                db.session.remove()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", after_execute)
    try:
        threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
        for thread in threads:
            thread.start()
        result.paused = paused.wait(wait_seconds * 3) and seen[0] >= pause_after
        deadline = time.monotonic() + wait_seconds
        with app.app_context():
            while time.monotonic() < deadline and not second_done.is_set():
                if second_pid:
                    with engine.connect() as conn:
                        waiting = conn.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": second_pid[0]}).scalar()
                    if waiting == "Lock":
                        result.second_blocked = True
                        time.sleep(0.05)  # let it settle in the queue
                        break
                time.sleep(0.01)
        resume.set()
        for thread in threads:
            thread.join(60)
    finally:
        resume.set()
        event.remove(engine, "after_cursor_execute", after_execute)
    return result


def race(app, works) -> list[Outcome]:
    """Run every callable of ``works`` in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(works))
    outcomes: list[Outcome | None] = [None] * len(works)

    def run(index, work):
        with app.app_context():
            try:
                barrier.wait()
                outcomes[index] = _run(work)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(works)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def stock_consistency() -> list[str]:
    """What is wrong with the stock rows, if anything: on hand against the ledger, and reserved
    against the units of the held reservations."""
    import inventory

    db.session.rollback()
    problems = [f"stock row {row}: on hand differs from its ledger" for row in inventory.ledger_mismatches()]
    rows = db.session.execute(
        text(
            """SELECT s.id, s.on_hand, s.reserved, coalesce(sum(rl.quantity) FILTER (WHERE r.status = 'held'), 0) AS held
               FROM stock_level s
               LEFT JOIN reservation_line rl ON rl.stock_level_id = s.id
               LEFT JOIN reservation r ON r.id = rl.reservation_id
               GROUP BY s.id, s.on_hand, s.reserved ORDER BY s.id"""
        )
    ).all()
    for row in rows:
        if row.reserved != row.held:
            problems.append(f"stock row {row.id}: reserved {row.reserved}, held reservation lines {row.held}")
        if not 0 <= row.reserved <= row.on_hand:
            problems.append(f"stock row {row.id}: on hand {row.on_hand}, reserved {row.reserved}")
    db.session.rollback()
    return problems
