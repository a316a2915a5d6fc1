"""Promo codes: a code a customer gives at the till for a percent or an amount off the basket."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.db import UTCDateTime, db
from core.money import Money

PROMO_KINDS = ("percent", "amount")


class PromoCode(db.Model):
    """A promo code.  ``code`` is stored normalised (upper case, no spaces), so it is unique
    whatever the case it is typed in.  ``uses`` counts redemptions; with ``max_uses`` set it never
    passes it (``redeem_promo`` is a conditional UPDATE, and a CHECK holds the line)."""

    __tablename__ = "promo_code"
    __table_args__ = (
        CheckConstraint("kind in ('percent', 'amount')", name="kind"),
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("kind != 'percent' OR value <= 100", name="percent_at_most_100"),
        CheckConstraint("minimum_spend_amount >= 0", name="minimum_spend_not_negative"),
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR (max_uses >= 0 AND uses <= max_uses)", name="uses_within_max"),
        CheckConstraint("ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int]  # percent 0-100, or minor units off the basket
    currency: Mapped[str] = mapped_column(String(3))  # of an amount and of the minimum spend
    minimum_spend_amount: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[object | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[object | None] = mapped_column(UTCDateTime)  # the first moment it no longer applies
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    max_uses: Mapped[int | None]
    uses: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def discount(self) -> dict:
        """The promo as ``price_cart`` takes it: ``{"percent": p}`` or ``{"amount": a}``."""
        return {self.kind: self.value}

    @property
    def minimum_spend(self) -> Money:
        return Money(self.minimum_spend_amount, self.currency)
