"""CLI commands of clienteling's tasks and outreach: ``flask --app web follow-ups``."""

from __future__ import annotations

import click


def register(app) -> None:
    app.cli.add_command(follow_ups)


@click.command("follow-ups")
def follow_ups():
    """Make the automatic follow-up tasks due now: wishlist items back in stock at the customer's home store,
    and thank-yous FOLLOW_UP_DAYS after a purchase (with consent).  Safe to run again, or on several machines
    at once: each task is made once.  The outbox dispatcher (`outbox run`) also runs this every
    FOLLOW_UPS_EVERY_MINUTES."""
    import clienteling

    from .cli import unit_of_work

    with unit_of_work():
        made = clienteling.create_follow_ups()
    click.echo(f"follow-ups: {made['wishlist_back_in_stock']} wishlist item(s) back in stock, {made['thank_you']} thank-you(s)")


def run_follow_ups_quietly(log) -> None:
    """One run of ``create_follow_ups`` in its own unit of work, for the dispatcher loop: a failure is
    logged and rolled back, never raised (the next round tries again)."""
    import clienteling
    from core import db

    try:
        made = clienteling.create_follow_ups()
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("follow-ups failed; trying again next round")
        return
    if any(made.values()):
        log.info("follow-ups: %s", made)
