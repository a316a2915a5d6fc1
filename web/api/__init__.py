"""The JSON API blueprints (flask-smorest), registered under /api/v1."""

from . import catalogue, events, staff, stock, timeline, webhooks

BLUEPRINTS = [catalogue.blp, stock.blp, webhooks.blp, staff.blp]
BLUEPRINTS += [events.blp, timeline.blp]
