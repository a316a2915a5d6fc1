"""The unit of work: one commit per request, CLI command or worker step, and what runs after it.

Services only ``flush()``.  Whoever owns the unit of work (the web request, a CLI command, a
dispatcher step) commits once, or rolls back.  Side effects that must not happen for a change
that did not commit — a live push to a tablet, an email, an SMS — are registered with
``after_commit`` while the work runs: they run once the transaction has committed, in the
order registered, and are dropped when it rolls back.  Webhooks do not go this way: they are
written to the outbox in the same transaction (``core.outbox.emit``), which is durable.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from .db import db

log = logging.getLogger("shelfside.uow")

_KEY = "shelfside_after_commit"


def after_commit(operation, *args, **kwargs) -> None:
    """Run ``operation(*args, **kwargs)`` after the current transaction of ``db.session`` commits;
    never when it rolls back.  A failing operation is logged and does not undo the commit (nor
    stop the operations after it): these are best-effort notifications by design."""
    db.session().info.setdefault(_KEY, []).append((operation, args, kwargs))


def pending_operations() -> int:
    """How many operations wait for the current transaction's commit (for tests)."""
    return len(db.session().info.get(_KEY, ()))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # a savepoint was released: the real commit is still to come
        return
    operations = session.info.pop(_KEY, None)
    for operation, args, kwargs in operations or ():
        try:
            operation(*args, **kwargs)
        except Exception:
            log.exception("after-commit operation %s failed", getattr(operation, "__qualname__", operation))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    if session.get_nested_transaction() is not None:  # only a savepoint rolled back: the work goes on
        return
    session.info.pop(_KEY, None)


@contextlib.contextmanager
def unit_of_work():
    """One commit for a block of work outside a web request (a CLI command, a worker step):
    commits when the block ends normally and runs the after-commit operations, rolls back and
    drops them when it raises."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
