"""The JSON API blueprints (flask-smorest), registered under /api/v1."""

from . import (
    appointments,
    carts,
    catalogue,
    customers,
    endless_aisle,
    events,
    orders,
    outreach,
    payments,
    pickups,
    returns,
    shifts,
    staff,
    stock,
    tasks,
    timeline,
    webhooks,
)

BLUEPRINTS = [catalogue.blp, stock.blp, webhooks.blp, staff.blp, customers.blp, appointments.blp]
BLUEPRINTS += [events.blp, timeline.blp]
BLUEPRINTS += [tasks.blp, outreach.blp]  # clienteling: tasks, outreach, feedback requests
BLUEPRINTS += [shifts.blp, carts.blp, orders.blp]
BLUEPRINTS += [payments.blp]
BLUEPRINTS += [pickups.blp, endless_aisle.blp]  # click-and-collect, the endless aisle
BLUEPRINTS += [returns.blp]
