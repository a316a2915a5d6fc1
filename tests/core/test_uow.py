"""The unit of work: operations after commit run once it committed, never for a rolled-back change."""

import pytest

from core import db
from core.actor import Actor
from core.outbox import declare_event_types, event_types
from core.uow import after_commit, pending_operations, unit_of_work


def test_after_commit_operations_run_in_order_once_the_change_committed(create_location):
    ran = []
    with unit_of_work():
        create_location("S1")
        after_commit(ran.append, "first")
        after_commit(ran.append, "second")
        assert ran == []
    assert ran == ["first", "second"]
    assert pending_operations() == 0


def test_after_commit_operations_are_dropped_when_the_work_rolls_back(create_location):
    from inventory import Location

    ran = []
    with pytest.raises(RuntimeError):
        with unit_of_work():
            db.session.add(Location(code="GONE", name="Gone", kind="store"))
            db.session.flush()
            after_commit(ran.append, "never")
            raise RuntimeError("crash mid-work")
    assert ran == [] and pending_operations() == 0
    assert db.session.query(Location).filter_by(code="GONE").first() is None
    with unit_of_work():
        pass
    assert ran == []  # not carried into the next transaction either


def test_a_failing_operation_neither_undoes_the_commit_nor_stops_the_others(create_location, caplog):
    from inventory import Location

    ran = []

    def boom():
        raise ValueError("mail server down")

    with unit_of_work():
        db.session.add(Location(code="KEPT", name="Kept", kind="store"))
        after_commit(boom)
        after_commit(ran.append, "after")
    assert ran == ["after"]
    assert db.session.query(Location).filter_by(code="KEPT").one()
    assert "after-commit operation" in caplog.text


def test_each_package_declares_its_own_event_types():
    assert "stock.changed" in event_types()
    with pytest.raises(ValueError):
        declare_event_types("someone-else", "stock.changed")


def test_actor_is_a_typed_reference():
    assert Actor("staff", 5, "Ana").ref == "staff:5"
    assert Actor.system("expiry").ref == "system"
    with pytest.raises(ValueError):
        Actor("staff", None)
    with pytest.raises(ValueError):
        Actor("robot", 1)


def test_a_released_savepoint_does_not_run_the_operations_before_the_real_commit():
    from inventory import Location

    ran = []
    with unit_of_work():
        db.session.add(Location(code="S1", name="One", kind="store"))
        db.session.flush()
        after_commit(ran.append, "after the commit")
        with db.session.begin_nested():  # SQLAlchemy fires after_commit for a released savepoint too
            db.session.add(Location(code="S2", name="Two", kind="store"))
        assert ran == []
        try:
            with db.session.begin_nested():  # and after_rollback for a rolled-back one
                db.session.add(Location(code="S3", name="Three", kind="store"))
                db.session.flush()
                raise ValueError
        except ValueError:
            pass
        assert ran == [] and pending_operations() == 1
    assert ran == ["after the commit"]


def test_a_rolled_back_savepoint_then_a_failed_unit_drops_the_operations():
    from inventory import Location

    ran = []
    with pytest.raises(RuntimeError):
        with unit_of_work():
            db.session.add(Location(code="S1", name="One", kind="store"))
            db.session.flush()
            after_commit(ran.append, "never")
            with db.session.begin_nested():
                db.session.add(Location(code="S2", name="Two", kind="store"))
            raise RuntimeError("crash after the savepoint")
    assert ran == [] and pending_operations() == 0
