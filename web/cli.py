"""The operator's CLI: ``flask --app web <command>``."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from flask import current_app

from core import db

from . import cli_clienteling, cli_shifts


@contextmanager
def unit_of_work():
    """One commit per command (``core.uow``); a domain error rolls everything back and becomes the
    command's error."""
    from core.errors import DomainError
    from core.uow import unit_of_work as work

    try:
        with work():
            yield
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _since(created_at, revoked_at) -> str:
    from core import clock

    state = f"revoked {clock.isoformat(revoked_at)}" if revoked_at else "active"
    return f"created {clock.isoformat(created_at)}  {state}"


def register(app) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo_info)
    app.cli.add_command(create_staff)
    app.cli.add_command(deactivate_staff)
    app.cli.add_command(create_api_key)
    app.cli.add_command(list_api_keys)
    app.cli.add_command(revoke_api_key)
    app.cli.add_command(create_kiosk)
    app.cli.add_command(kiosk_link)
    app.cli.add_command(list_kiosks)
    app.cli.add_command(revoke_kiosk)
    app.cli.add_command(import_products)
    app.cli.add_command(outbox)
    app.cli.add_command(expire_reservations)
    cli_clienteling.register(app)  # follow-ups
    cli_shifts.register(app)  # create-register


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has products.")
@click.option("--products", default=300, show_default=True, help="How many products to generate.")
def seed_demo(if_empty, products):
    """Load the demo brand: stores, warehouse, catalogue, stock, staff, a partner key, kiosks."""
    from .demo import has_data, seed

    if if_empty and has_data():
        click.echo("Demo data already loaded; nothing to do.")
        return
    summary = seed(products=products)
    db.session.commit()
    click.echo(summary)


@click.command("demo-info")
@click.option("--port", default=8000, show_default=True)
def demo_info(port):
    """Print the URLs, the demo logins, the demo partner key and the kiosk links (each works once: this
    command renews the demo kiosks' links)."""
    from .demo import describe, renew_demo_kiosk_links

    renew_demo_kiosk_links()
    click.echo(describe(port))


@click.command("create-staff")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice(["associate", "manager", "admin"]), required=True)
@click.option("--store", "stores", multiple=True, help="Store code (repeat for several).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_staff(email, name, role, stores, password):
    """Create a staff account bound to stores."""
    from accounts import create_staff as create

    with unit_of_work():
        staff = create(email, name, role, password, list(stores))
    click.echo(f"created {staff.role} {staff.email} for {', '.join(s.code for s in staff.stores) or 'all stores'}")


@click.command("deactivate-staff")
@click.argument("email")
def deactivate_staff(email):
    """Deactivate a staff account: no more sign-ins, and every session and staff token it holds ends now."""
    from accounts import deactivate_staff as deactivate

    with unit_of_work():
        staff = deactivate(email)
    click.echo(f"deactivated {staff.email}; its sessions and staff tokens have ended")


@click.command("create-api-key")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, help="Scope to grant (repeat for several).")
def create_api_key(name, scopes):
    """Create a partner API key; prints it alone on the last line (only its hash is stored)."""
    from accounts import create_api_key as create

    with unit_of_work():
        record, key = create(name, list(scopes))
    click.echo(f"API key '{record.name}' with scopes {', '.join(record.scopes)} (shown once):", err=True)
    click.echo(key)


@click.command("list-api-keys")
def list_api_keys():
    """Partner API keys: id, prefix, name, scopes, created, revoked."""
    from sqlalchemy import select

    from accounts import ApiKey

    for record in db.session.scalars(select(ApiKey).order_by(ApiKey.id)):
        click.echo(f"{record.id:>4}  {record.prefix}…  {record.name}  [{', '.join(record.scopes)}]  {_since(record.created_at, record.revoked_at)}")


@click.command("revoke-api-key")
@click.argument("key")
def revoke_api_key(key):
    """Revoke a partner API key, given its id (see list-api-keys), its prefix or the key itself.

    Running app processes may accept it for up to API_KEY_CACHE_SECONDS more."""
    from accounts import revoke_api_key as revoke

    with unit_of_work():
        record = revoke(key)
    seconds = current_app.config.get("API_KEY_CACHE_SECONDS", 0)
    click.echo(f"revoked API key {record.id} ({record.prefix}…, '{record.name}'); running servers refuse it within {seconds} s")


@click.command("list-kiosks")
def list_kiosks():
    """Registered kiosks: id, store, name, created, revoked."""
    from sqlalchemy import select

    from accounts import KioskDevice
    from core import clock

    for device in db.session.scalars(select(KioskDevice).order_by(KioskDevice.id)):
        link = f"link used {clock.isoformat(device.token_used_at)}" if device.token_used_at else "link unused"
        click.echo(f"{device.id:>4}  {device.location.code}  {device.name}  {_since(device.created_at, device.revoked_at)}  {link}")


@click.command("revoke-kiosk")
@click.argument("device_id", type=int)
def revoke_kiosk(device_id):
    """Revoke a kiosk (id from list-kiosks): its screen shows 'not set up' on the next page."""
    from accounts import revoke_kiosk as revoke

    with unit_of_work():
        device = revoke(device_id)
    click.echo(f"revoked kiosk {device.id} ('{device.name}', {device.location.code})")


@click.command("create-kiosk")
@click.argument("store")
@click.option("--name", default="Kiosk")
def create_kiosk(store, name):
    """Register a kiosk for a store; prints its activation path, which works once."""
    from accounts import register_kiosk

    with unit_of_work():
        device, token = register_kiosk(store, name)
    click.echo(f"kiosk {device.id} '{device.name}' for {store}; open this path once on the device (it works once):", err=True)
    click.echo(f"/kiosk/activate/{token}")


@click.command("kiosk-link")
@click.argument("device_id", type=int)
def kiosk_link(device_id):
    """A new one-time activation path for an existing kiosk (id from list-kiosks), e.g. for a replaced screen.
    The kiosk's previous link stops working; screens already set up keep working."""
    from accounts import issue_kiosk_link

    with unit_of_work():
        device, token = issue_kiosk_link(device_id)
    click.echo(f"kiosk {device.id} '{device.name}' for {device.location.code}; open this path once on the device:", err=True)
    click.echo(f"/kiosk/activate/{token}")


@click.command("import-products")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--currency", default="EUR", show_default=True, help="Currency of the CSV's prices.")
@click.option("--store", default=None, help="Location code to record the file's inventory quantities at (as counts).")
def import_products(path, currency, store):
    """Import a Shopify product CSV export (classic or 2024+ columns); re-importing updates instead of duplicating."""
    from inventory.imports import import_shopify_csv

    with unit_of_work(), open(path, "rb") as handle, _ImportProgress() as progress:
        report = import_shopify_csv(handle, currency=currency, stock_location=store, progress=progress)
    click.echo(report.summary())
    for entry in sorted([*report.errors, *report.notes], key=lambda entry: entry.line):
        click.echo(f"  line {entry.line}: {entry.message}", err=True)
    if report.errors and not report.products:
        sys.exit(1)


class _ImportProgress:
    """A progress bar on stderr for ``import_shopify_csv(progress=...)``, sized by its first call
    (the number of rows in the file); on a terminal only, else its label once."""

    def __init__(self):
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=f"importing {total} rows", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


@click.group("outbox")
def outbox():
    """The webhook outbox."""


@outbox.command("run")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
@click.option("--batch", default=50, show_default=True)
def outbox_run(once, batch):
    """Deliver due webhooks (and expire overdue reservations) until stopped."""
    from .webhooks import run_dispatcher

    run_dispatcher(once=once, batch=batch, poll_seconds=current_app.config["OUTBOX_POLL_SECONDS"])


@click.command("expire-reservations")
def expire_reservations():
    """Release every held reservation past its expiry (emits reservation.expired)."""
    from .webhooks import expire_due_reservations

    count = expire_due_reservations()
    click.echo(f"expired {count} reservation(s)")
