"""The JSON API blueprints (flask-smorest), registered under /api/v1."""

from . import catalogue, outreach, staff, stock, tasks, webhooks

BLUEPRINTS = [catalogue.blp, stock.blp, webhooks.blp, staff.blp]
BLUEPRINTS += [tasks.blp, outreach.blp]  # clienteling: tasks, outreach, feedback requests
