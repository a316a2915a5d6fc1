"""Webhook endpoint registration for partners."""

from __future__ import annotations

from flask import current_app

from core.errors import ValidationError
from core.outbox import delete_endpoint, list_endpoints, register_endpoint

from ..auth import require_scope
from ..webhooks import refusal
from .access import brand_wide
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import WebhookEndpointCreated, WebhookEndpointIn, WebhookEndpointPage

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Webhook endpoints")


def check_webhook_url(url: str) -> None:
    """In production (WEBHOOK_REQUIRE_HTTPS) only https to public addresses; any URL in development."""
    if not current_app.config.get("WEBHOOK_REQUIRE_HTTPS"):
        return
    refused = refusal(url)
    if refused:
        raise ValidationError(refused, field="url")


@blp.route("/webhook-endpoints", methods=["POST"])
@require_scope("webhooks:manage")
@idempotent(required=False)
@blp.arguments(WebhookEndpointIn)
@brand_wide("webhook endpoints are the brand's integration")
@blp.response(201, WebhookEndpointCreated)
def create_endpoint(data):
    """Register a URL for events; the answer carries the signing `secret`, shown this once."""
    check_webhook_url(data["url"])
    return register_endpoint(data["url"], data["events"])


@blp.route("/webhook-endpoints", methods=["GET"])
@require_scope("webhooks:manage")
@brand_wide("webhook endpoints are the brand's integration")
@blp.response(200, WebhookEndpointPage)
def list_webhook_endpoints():
    """Registered endpoints (without their secrets)."""
    return {"items": list_endpoints(), "next_cursor": None}


@blp.route("/webhook-endpoints/<endpoint_id>", methods=["DELETE"])
@require_scope("webhooks:manage")
@brand_wide("webhook endpoints are the brand's integration")
@blp.response(204)
def remove_endpoint(endpoint_id):
    """Stop sending to an endpoint; its pending deliveries are dropped."""
    delete_endpoint(endpoint_id)
