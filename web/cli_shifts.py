"""CLI commands of registers and shifts: ``flask --app web create-register STORE CODE``."""

from __future__ import annotations

import click


def register(app) -> None:
    app.cli.add_command(create_register)


@click.command("create-register")
@click.argument("store")
@click.argument("code")
@click.option("--name", default=None, help='A name shown on the tablet, like "Tablet by the fitting rooms".')
def create_register(store, code, name):
    """Add a register (a till: a tablet that takes cash) with CODE at the store STORE.  Safe to run again: an
    existing register keeps its shifts and takes the new --name if one is given."""
    import pos

    from .cli import unit_of_work

    with unit_of_work():
        register, created = pos.ensure_register(store, code, name)
        line = f"{'created' if created else 'exists'}: register {register.code} at {register.location.code} ({register.name})"
    click.echo(line)
