"""The JSON API blueprints (flask-smorest), registered under /api/v1."""

from . import catalogue, customers, staff, stock, webhooks

BLUEPRINTS = [catalogue.blp, stock.blp, webhooks.blp, staff.blp, customers.blp]
