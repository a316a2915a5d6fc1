"""Promo codes: creating them, finding one a customer gives at the till, and redeeming it.

``find_promo`` says whether a code applies to a basket now (and, when it does not, why, in words
a customer can be told).  ``redeem_promo`` counts one use with a conditional
``UPDATE promo_code SET uses = uses + 1 WHERE id = :id AND (max_uses IS NULL OR uses < max_uses)``,
its own lock and check: of two checkouts racing for the last use exactly one wins, the other
gets ``PromoUsedUp`` (409), on PostgreSQL and on SQLite alike.  Services only flush.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from core import clock
from core.db import db
from core.errors import Conflict, ValidationError
from core.money import Money

from .promotions_models import PROMO_KINDS, PromoCode

CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}")


class PromoUsedUp(Conflict):
    """This promo code has been used as many times as it may be."""

    code = "promo_used_up"


def normalise_promo_code(code) -> str:
    """A promo code as typed or scanned: case and surrounding or inner spaces ignored."""
    return "".join(str(code or "").split()).upper()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _aware(value, field: str):
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(f"{field} is a time with an offset", field=field)
    return value


def create_promo(
    code: str,
    kind: str,
    value: int,
    currency: str,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    minimum_spend: Money | int = 0,
    max_uses: int | None = None,
    active: bool = True,
    description: str = "",
) -> PromoCode:
    """A new promo code (flushed).  ``value`` is a percent (0-100) for ``kind="percent"`` or minor
    units of ``currency`` for ``kind="amount"``.  Raises ``ValidationError`` naming the field, or
    ``Conflict`` (409) when the code exists already in any case."""
    normalised = normalise_promo_code(code)
    if not CODE_PATTERN.fullmatch(normalised):
        raise ValidationError("a promo code is 3 to 40 letters, digits, dashes or underscores", field="code")
    if kind not in PROMO_KINDS:
        raise ValidationError("kind is percent or amount", field="kind")
    if not _is_int(value) or value < 0 or (kind == "percent" and value > 100):
        message = "a percent is a whole number from 0 to 100" if kind == "percent" else "an amount is a whole number of minor units, zero or more"
        raise ValidationError(message, field="value")
    try:
        currency = Money(0, currency).currency
    except (TypeError, ValueError):
        raise ValidationError("the currency is a three-letter ISO 4217 code", field="currency") from None
    if isinstance(minimum_spend, Money):
        if minimum_spend.currency != currency:
            raise ValidationError(f"the minimum spend is in {currency}", field="minimum_spend")
        minimum_spend = minimum_spend.amount
    if not _is_int(minimum_spend) or minimum_spend < 0:
        raise ValidationError("the minimum spend is a whole number of minor units, zero or more", field="minimum_spend")
    starts_at, ends_at = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    if starts_at and ends_at and ends_at <= starts_at:
        raise ValidationError("ends_at is after starts_at", field="ends_at")
    if max_uses is not None and (not _is_int(max_uses) or max_uses < 1):
        raise ValidationError("max_uses is a whole number, 1 or more (or none for no limit)", field="max_uses")
    if db.session.scalar(select(PromoCode.id).where(PromoCode.code == normalised)) is not None:
        raise Conflict(f"the promo code {normalised} exists already", {"code": [f"the promo code {normalised} exists already"]})
    promo = PromoCode(
        code=normalised,
        kind=kind,
        value=value,
        currency=currency,
        minimum_spend_amount=minimum_spend,
        starts_at=starts_at,
        ends_at=ends_at,
        max_uses=max_uses,
        uses=0,
        active=bool(active),
        description=description or "",
    )
    db.session.add(promo)
    db.session.flush()
    return promo


def _refuse(message: str):
    raise ValidationError(message, field="promo_code")


def find_promo(code: str, now: datetime | None, subtotal: Money) -> PromoCode:
    """The promo code ``code`` (any case) if it applies now to a basket of ``subtotal``.

    Raises ``ValidationError`` on ``promo_code`` saying why not: unknown, switched off, not started
    yet (and when it starts), expired (and when), used up, another currency, or the minimum spend
    not met (and how much more is needed).  Reads only: ``redeem_promo`` counts the use."""
    now = now or clock.now()
    normalised = normalise_promo_code(code)
    if not normalised:
        _refuse("enter a promo code")
    promo = db.session.scalar(select(PromoCode).where(PromoCode.code == normalised))
    if promo is None:
        _refuse(f"there is no promo code {normalised}")
    if not promo.active:
        _refuse(f"the promo code {promo.code} is no longer valid")
    if promo.starts_at is not None and now < promo.starts_at:
        _refuse(f"the promo code {promo.code} is valid from {clock.isoformat(promo.starts_at)}")
    if promo.ends_at is not None and now >= promo.ends_at:
        _refuse(f"the promo code {promo.code} expired on {clock.isoformat(promo.ends_at)}")
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        _refuse(f"the promo code {promo.code} has been used up")
    if not isinstance(subtotal, Money):
        raise ValidationError("the subtotal is Money", field="subtotal")
    if subtotal.currency != promo.currency:
        _refuse(f"the promo code {promo.code} is for baskets in {promo.currency}, not {subtotal.currency}")
    if subtotal.amount < promo.minimum_spend_amount:
        missing = Money(promo.minimum_spend_amount - subtotal.amount, promo.currency)
        _refuse(f"the promo code {promo.code} needs a minimum spend of {promo.minimum_spend.format()}: add {missing.format()} more")
    return promo


def redeem_promo(promo: PromoCode) -> PromoCode:
    """Count one use of ``promo`` with a conditional UPDATE (``uses < max_uses``), its own lock and
    check; the loaded object gets the new count.  Raises ``PromoUsedUp`` (409) when no use is left.
    Call it in the checkout's transaction, so that a rolled-back sale gives the use back."""
    table = PromoCode.__table__
    new_uses = db.session.execute(
        update(table)
        .where(table.c.id == promo.id, or_(table.c.max_uses.is_(None), table.c.uses < table.c.max_uses))
        .values(uses=table.c.uses + 1)
        .returning(table.c.uses)
    ).scalar()
    if new_uses is None:
        raise PromoUsedUp(f"the promo code {promo.code} has been used up", {"promo_code": [f"the promo code {promo.code} has been used up"]})
    set_committed_value(promo, "uses", new_uses)
    return promo
