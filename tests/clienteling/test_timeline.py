"""The timeline without personalisation consent: no tracking of what they did online, but the
product's own service entries about them stay."""

import clienteling
from core import db


def test_without_consent_online_activity_is_hidden_but_an_appointment_booked_on_the_web_is_shown(make_customer):
    customer = make_customer("Nina Roth", email="nina@example.com")
    clienteling.record_activity(customer, "product_viewed", channel="web", sku="JKT-M")
    clienteling.record_activity(customer, "appointment_booked", channel="web", data={"appointment_id": "apt_1"})
    clienteling.record_activity(customer, "message_received", channel="email")
    db.session.commit()

    hidden, _ = clienteling.timeline_page(customer, show_online=False)
    shown, _ = clienteling.timeline_page(customer, show_online=True)

    assert sorted(e.type for e in hidden) == ["appointment_booked", "message_received"]
    assert sorted(e.type for e in shown) == ["appointment_booked", "message_received", "product_viewed"]
