"""The tablet's privacy actions: a manager exports or erases a customer, an admin reads who opened
which profile; an associate may do neither."""

from __future__ import annotations

import json

import pytest

import clienteling
from accounts import create_staff
from clienteling import create_customer
from core import db
from core.actor import Actor
from core.audit import audit_entries
from inventory import Location

PASSWORD = "correct-horse"


@pytest.fixture
def zoe():
    db.session.add(Location(code="BER-MITTE", name="Berlin Mitte", kind="store", timezone="Europe/Berlin"))
    db.session.commit()
    customer = create_customer("Zoë Müller", Actor.system("test"), email="zoe@example.com", phone="+49 151 12345678", home_store="BER-MITTE")
    clienteling.record_activity(
        customer, "order_placed", channel="web", data={"order_id": "o1", "lines": [], "total": {"amount": 12900, "currency": "EUR"}}
    )
    db.session.commit()
    return customer


def signed_in(client, role):
    create_staff(f"{role}@example.com", f"A {role}", role, PASSWORD, ["BER-MITTE"])
    db.session.commit()
    assert client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD}).status_code == 302
    return client


def test_a_manager_downloads_everything_about_a_customer_and_the_export_is_audited(client, zoe):
    tablet = signed_in(client, "manager")
    assert "Export everything" in tablet.get(f"/tablet/customers/{zoe.public_id}").get_data(as_text=True)
    response = tablet.get(f"/tablet/customers/{zoe.public_id}/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    document = json.loads(response.get_data(as_text=True))
    assert "zoe@example.com" in json.dumps(document)
    assert [entry.action for entry in audit_entries("customer", zoe.public_id)] == ["customer.exported"]


def test_erasing_needs_the_name_typed_then_the_customer_is_found_no_more_and_the_money_stays(client, zoe):
    tablet = signed_in(client, "manager")
    refused = tablet.post(f"/tablet/customers/{zoe.public_id}/erase", data={"confirm": "Zoe"})
    assert refused.status_code == 400 and "exactly" in refused.get_data(as_text=True)
    assert clienteling.find_customer_by_identity("email", "zoe@example.com") is not None

    done = tablet.post(f"/tablet/customers/{zoe.public_id}/erase", data={"confirm": "Zoë Müller"})
    assert done.status_code == 302
    db.session.expire_all()
    assert clienteling.find_customer_by_identity("email", "zoe@example.com") is None
    assert clienteling.search_page("zoe")[0] == []
    events = db.session.query(clienteling.CustomerEvent).filter_by(customer_id=zoe.id).all()
    assert [e.data["total"]["amount"] for e in events if e.type == "order_placed"] == [12900]


def test_an_associate_can_neither_export_nor_erase(client, zoe):
    tablet = signed_in(client, "associate")
    assert "Export everything" not in tablet.get(f"/tablet/customers/{zoe.public_id}").get_data(as_text=True)
    assert tablet.get(f"/tablet/customers/{zoe.public_id}/export.json").status_code == 403
    assert tablet.post(f"/tablet/customers/{zoe.public_id}/erase", data={"confirm": "Zoë Müller"}).status_code == 403
    assert clienteling.find_customer_by_identity("email", "zoe@example.com") is not None


def test_an_admin_reads_who_opened_which_profile(client, zoe):
    tablet = signed_in(client, "admin")
    tablet.get(f"/tablet/customers/{zoe.public_id}")
    page = tablet.get("/tablet/privacy/profile-views").get_data(as_text=True)
    assert "A admin" in page and "Zoë Müller" in page and "tablet" in page
    manager = signed_in(client, "manager")
    assert manager.get("/tablet/privacy/profile-views").status_code == 403
