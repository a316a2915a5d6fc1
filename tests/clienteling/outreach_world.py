"""Fixtures for the tasks, outreach and feedback tests: two demo stores, a product, staff and customers
in the shapes real data has (import them into a test module)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import clienteling
from accounts import create_staff
from core import clock, db
from core.actor import Actor

PASSWORD = "correct-horse"


@pytest.fixture
def world(create_location, create_product, set_stock):
    """BER-MITTE (Berlin Mitte) and MUC-MAX, the Trail Jacket in M and L, staff of each store."""
    create_location("BER-MITTE", "Berlin Mitte")
    create_location("MUC-MAX", "München Maximilianstraße")
    create_product(handle="trail-jacket", title="Trail Jacket", skus=("JKT-M", "JKT-L"))
    set_stock("BER-MITTE", "JKT-L", 3)
    staff = {
        "ana": create_staff("ana@example.com", "Ana Weber", "associate", PASSWORD, ["BER-MITTE"]),
        "max": create_staff("max@example.com", "Max Brandt", "manager", PASSWORD, ["BER-MITTE"]),
        "mia": create_staff("mia@example.com", "Mia Huber", "associate", PASSWORD, ["MUC-MAX"]),
    }
    db.session.commit()
    return staff


@pytest.fixture
def make_customer(world):
    """make_customer(name, email=, phone=, consents={purpose: bool}, preferred=staff key) -> a committed customer of BER-MITTE."""

    def make(name="Zoë Müller", email="zoe@example.com", phone="+4917612345678", consents=None, preferred=None, home_store="BER-MITTE"):
        customer = clienteling.create_customer(
            name, world["ana"].actor, email=email, phone=phone, home_store=home_store, consents=consents or {}, consent_source="store"
        )
        if preferred:
            clienteling.update_profile(customer, preferred_associate_id=world[preferred].id)
        db.session.commit()
        return customer

    return make


@pytest.fixture
def log_provider():
    """The development provider, emptied: what it 'sent' during the test."""
    provider = clienteling.configure_provider("log")
    provider.clear()
    yield provider
    provider.clear()


def record(customer, type, days_ago=0.0, channel="web", **kwargs):
    """A timeline event ``days_ago`` days back, committed."""
    event = clienteling.record_activity(customer, type, channel=channel, occurred_at=clock.now() - timedelta(days=days_ago), **kwargs)
    db.session.commit()
    return event


def staff_actor(staff) -> Actor:
    return staff.actor
