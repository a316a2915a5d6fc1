"""Fixtures for the clienteling domain tests: a store, staff, customers with timelines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import clienteling
from accounts import create_staff
from core import db
from core.actor import Actor

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(create_location):
    return create_location("BER-MITTE", "Berlin Mitte")


@pytest.fixture
def manager(store):
    staff = create_staff("max@example.com", "Max Manager", "manager", "correct-horse", ["BER-MITTE"])
    db.session.commit()
    return staff


@pytest.fixture
def actor(manager):
    return Actor("staff", manager.id, manager.name)


@pytest.fixture
def make_customer(actor):
    def make(name="Zoë Müller", email=None, phone=None, consents=None, **extra):
        customer = clienteling.create_customer(name, actor, email=email, phone=phone, consents=consents, **extra)
        db.session.commit()
        return customer

    return make


@pytest.fixture
def event(actor):
    """Append a timeline event ``days`` before NOW."""

    def add(customer, type, days=1.0, channel="web", sku=None, data=None):
        record = clienteling.record_activity(customer, type, channel=channel, occurred_at=NOW - timedelta(days=days), sku=sku, data=data or {})
        return record

    return add


def money(amount, currency="EUR"):
    return {"amount": amount, "currency": currency}
