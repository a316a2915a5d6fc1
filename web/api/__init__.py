"""The JSON API blueprints (flask-smorest), registered under /api/v1."""

from . import appointments, carts, catalogue, customers, events, orders, outreach, returns, shifts, staff, stock, tasks, timeline, webhooks

BLUEPRINTS = [catalogue.blp, stock.blp, webhooks.blp, staff.blp, customers.blp, appointments.blp]
BLUEPRINTS += [events.blp, timeline.blp]
BLUEPRINTS += [tasks.blp, outreach.blp]  # clienteling: tasks, outreach, feedback requests
BLUEPRINTS += [shifts.blp, carts.blp, orders.blp]
BLUEPRINTS += [returns.blp]
