"""The price of a cart: discounts, tax by store, cash rounding and manager approval.

Pure functions over integers: no database, no clock, no floats.  Every amount is an ``int`` of
minor units (cents) in the one currency of the cart, ready for ``core.money.Money``.

How a cart is priced, in order:

1. **Gross.** Each line's gross is ``unit_price × quantity``.
2. **Line discount.** ``{"percent": p}`` (an integer 0-100) takes ``gross × p / 100``, rounded
   half up to a minor unit; ``{"amount": a}`` takes ``a`` minor units off the line as a whole
   (not per unit).  A discount larger than the line stops at the line: nothing goes below zero.
3. **Basket discount, then promo code.** Each is a percent of what the lines are worth after the
   steps before it (rounded half up), or an amount (capped at that worth).  It is spread over the
   lines pro rata by their worth with the largest-remainder method: each line gets the floor of its
   exact share, and the minor units left over go one each to the lines with the largest remainders
   (the earlier line first on a tie).  The line shares therefore sum exactly to the basket discount,
   and no line's share exceeds its worth.
4. **Tax, per line, after discounts.** A line's rate comes from its tax class in the store's
   setting ``{"mode": "inclusive"|"exclusive", "rates": {class: basis points}}`` (1900 = 19 %; a
   rate finer than a basis point is a decimal string, "887.5" = 8.875 %, and stays exact).
   Inclusive (prices include tax): ``total = net`` and ``tax = net × rate / (10000 + rate)``.
   Exclusive (tax is added): ``tax = net × rate / 10000`` and ``total = net + tax``.  The tax is
   rounded per line to a minor unit, half up; ``net = gross − discount``.
5. **Totals** are the sums of the lines: ``subtotal`` (gross), ``discount``, ``tax``, ``total``.
   Inclusive: ``total = subtotal − discount``; exclusive: ``total = subtotal − discount + tax``.

Cash is rounded only when it is paid in cash (``round_cash``, ``cash_change``): the cart's total
stays exact, the cash payment rounds it to the smallest coin of the currency (``CASH_ROUNDING``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import NamedTuple

from core.errors import InvalidTransition, ValidationError
from core.money import Money

TAX_MODES = ("inclusive", "exclusive")
MAX_TAX_RATE = 10000  # basis points: 100 %

# The smallest step a cash total is rounded to, in minor units, where the smallest coin in
# circulation is larger than one minor unit.  Currencies not listed (EUR, USD, GBP...) are not
# rounded.  Rounding is to the nearest step, a half step up ("Swiss rounding": 0.025 -> 0.05).
CASH_ROUNDING = {
    "CHF": 5,  # 0.05: the 5-rappen coin
    "CAD": 5,  # 0.05 since the penny left circulation (2013)
    "AUD": 5,  # 0.05 since 1992
    "NZD": 10,  # 0.10 since 2006
    "DKK": 50,  # 0.50: the 50-øre coin
    "SEK": 100,  # whole kronor since 2010
    "NOK": 100,  # whole kroner since 2012
    "CZK": 100,  # whole koruna since 2008
}


class LineInput(NamedTuple):
    """One cart line as the pricing engine reads it."""

    line_id: object
    sku: str
    quantity: int
    unit_price: int
    tax_class: str
    line_discount: Mapping | None = None


@dataclass(frozen=True)
class LineTotals:
    """One priced line.  ``discount`` is the line's own discount plus its shares of the basket
    discount and the promo code (``line_discount`` + ``basket_discount`` + ``promo_discount``)."""

    line_id: object
    sku: str
    quantity: int
    unit_price: int
    tax_class: str
    tax_rate: int | str  # basis points, as the store's setting states it
    gross: int
    line_discount: int
    basket_discount: int
    promo_discount: int
    discount: int
    net: int
    tax: int
    total: int

    def to_dict(self, currency: str) -> dict:
        def money(amount):
            return Money(amount, currency).to_dict()

        return {
            "id": self.line_id,
            "sku": self.sku,
            "quantity": self.quantity,
            "unit_price": money(self.unit_price),
            "gross": money(self.gross),
            "discount": money(self.discount),
            "tax": money(self.tax),
            "total": money(self.total),
        }


@dataclass(frozen=True)
class CartTotals:
    """A priced cart: its lines and their sums, in one currency."""

    currency: str
    tax_mode: str
    lines: tuple[LineTotals, ...]
    subtotal: int
    discount: int
    basket_discount: int
    promo_discount: int
    tax: int
    total: int

    def money(self, name: str) -> Money:
        """``totals.money("total")`` -> Money(total, currency)."""
        return Money(getattr(self, name), self.currency)

    def totals_dict(self) -> dict:
        return {name: self.money(name).to_dict() for name in ("subtotal", "discount", "tax", "total")}


# --- integer arithmetic ---------------------------------------------------------------------


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` (0 <= amount <= sum(weights)) over ``weights`` pro rata with the
    largest-remainder method: the shares sum exactly to ``amount`` and none exceeds its weight."""
    total = sum(weights)
    if amount < 0 or any(weight < 0 for weight in weights) or amount > total:
        raise ValueError("allocate needs 0 <= amount <= sum of non-negative weights")
    if amount == 0:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    remainders = [amount * weight % total for weight in weights]
    left = amount - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares


# --- validation -----------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _discount_amount(discount, value: int, field: str, currency: str | None = None) -> int:
    """What ``discount`` ({"percent": p} or {"amount": a}) takes off ``value``, capped at ``value``."""
    if discount is None:
        return 0
    if not isinstance(discount, Mapping) or len(discount) != 1 or not set(discount) <= {"percent", "amount"}:
        raise ValidationError('a discount is {"percent": 0-100} or {"amount": minor units}', field=field)
    if "percent" in discount:
        percent = discount["percent"]
        if not _is_int(percent) or not 0 <= percent <= 100:
            raise ValidationError("a discount percent is a whole number from 0 to 100", field=field)
        return min(value, divide_half_up(value * percent, 100))
    amount = discount["amount"]
    if isinstance(amount, Money):
        if currency is not None and amount.currency != currency:
            raise ValidationError(f"a discount in {amount.currency} cannot apply to a cart in {currency}", field=field)
        amount = amount.amount
    if not _is_int(amount) or amount < 0:
        raise ValidationError("a discount amount is a whole number of minor units, zero or more", field=field)
    return min(value, amount)


def _tax_setting(store_tax) -> tuple[str, dict[str, Fraction]]:
    if not isinstance(store_tax, Mapping):
        raise ValidationError('the store tax setting is {"mode": "inclusive"|"exclusive", "rates": {...}}', field="store_tax")
    mode = store_tax.get("mode")
    if mode not in TAX_MODES:
        raise ValidationError("the tax mode is inclusive or exclusive", field="store_tax.mode")
    rates = store_tax.get("rates")
    if not isinstance(rates, Mapping) or not rates:
        raise ValidationError("the store tax setting needs rates per tax class, in basis points", field="store_tax.rates")
    return mode, {name: _rate(name, rate) for name, rate in rates.items()}


def _rate(name, rate) -> Fraction:
    """A tax rate in basis points as an exact fraction: an int (1900 = 19 %), or a decimal string
    for rates finer than a basis point ("887.5" = 8.875 %, New York City's sales tax).  Never a float."""
    message = f'the tax rate of {name!r} is basis points from 0 to 10000 (1900 = 19 %; "887.5" = 8.875 %)'
    if _is_int(rate):
        exact = Fraction(rate)
    elif isinstance(rate, str | Decimal):
        try:
            value = Decimal(rate)
        except InvalidOperation:
            raise ValidationError(message, field="store_tax.rates") from None
        if not value.is_finite() or value.as_tuple().exponent < -4:
            raise ValidationError(message, field="store_tax.rates")
        exact = Fraction(value)
    else:
        raise ValidationError(message, field="store_tax.rates")
    if not 0 <= exact <= MAX_TAX_RATE:
        raise ValidationError(message, field="store_tax.rates")
    return exact


def _line(raw) -> LineInput:
    if isinstance(raw, LineInput):
        line = raw
    elif isinstance(raw, Mapping):
        try:
            line = LineInput(**raw)
        except TypeError:
            raise ValidationError("a line has line_id, sku, quantity, unit_price, tax_class and line_discount", field="lines") from None
    else:
        try:
            line = LineInput(*raw)
        except TypeError:
            raise ValidationError("a line is (line_id, sku, quantity, unit_price, tax_class, line_discount)", field="lines") from None
    if not _is_int(line.quantity) or line.quantity < 1:
        raise ValidationError(f"the quantity of {line.sku} is a whole number, 1 or more", field="quantity")
    if not _is_int(line.unit_price) or line.unit_price < 0:
        raise ValidationError(f"the unit price of {line.sku} is a whole number of minor units, zero or more", field="unit_price")
    return line


def _currency(currency) -> str:
    try:
        return Money(0, currency).currency
    except (TypeError, ValueError):
        raise ValidationError("the currency is a three-letter ISO 4217 code", field="currency") from None


def _promo_discount(promo, currency: str):
    """A promo as a discount mapping: a mapping as it is, or a PromoCode's ``discount``."""
    if promo is None or isinstance(promo, Mapping):
        return promo
    promo_currency = getattr(promo, "currency", None)
    if getattr(promo, "kind", None) == "amount" and promo_currency and promo_currency != currency:
        raise ValidationError(f"this promo code is in {promo_currency}, the cart in {currency}", field="promo_code")
    return promo.discount


# --- the cart -------------------------------------------------------------------------------


def price_cart(lines: Iterable, store_tax: Mapping, basket_discount=None, promo=None, *, currency: str) -> CartTotals:
    """Price ``lines`` under the store's tax setting, with an optional basket discount and promo.

    Each line is a ``LineInput`` (or a tuple or mapping of its fields): ``(line_id, sku, quantity,
    unit_price, tax_class, line_discount)``.  ``basket_discount`` and ``promo`` are
    ``{"percent": p}`` or ``{"amount": a}``; ``promo`` may also be a ``PromoCode``.  The rules are
    in this module's docstring.  Guarantees: integer minor units throughout; nothing negative;
    line discounts sum exactly to the basket and promo discounts; totals are the sums of the lines.
    Raises ``ValidationError`` naming the field (``quantity``, ``unit_price``, ``tax_class``,
    ``discount``, ``basket_discount``, ``promo_code``, ``store_tax...``, ``currency``).
    """
    currency = _currency(currency)
    mode, rates = _tax_setting(store_tax)
    items = [_line(raw) for raw in lines]
    for line in items:
        if line.tax_class not in rates:
            known = ", ".join(sorted(rates))
            raise ValidationError(f"{line.sku}: no tax rate for class {line.tax_class!r} at this store (known: {known})", field="tax_class")

    gross = [line.quantity * line.unit_price for line in items]
    own = [_discount_amount(line.line_discount, g, "discount", currency) for line, g in zip(items, gross, strict=True)]
    worth = [g - d for g, d in zip(gross, own, strict=True)]

    basket_total = _discount_amount(basket_discount, sum(worth), "basket_discount", currency)
    basket = allocate(basket_total, worth)
    worth = [w - b for w, b in zip(worth, basket, strict=True)]

    promo_total = _discount_amount(_promo_discount(promo, currency), sum(worth), "promo_code", currency)
    promo_shares = allocate(promo_total, worth)

    priced = []
    for index, line in enumerate(items):
        rate = rates[line.tax_class]
        discount = own[index] + basket[index] + promo_shares[index]
        net = gross[index] - discount
        if mode == "inclusive":  # net × p/q / (10000 + p/q) = net × p / (10000 q + p)
            tax = divide_half_up(net * rate.numerator, MAX_TAX_RATE * rate.denominator + rate.numerator)
            total = net
        else:  # net × p/q / 10000
            tax = divide_half_up(net * rate.numerator, MAX_TAX_RATE * rate.denominator)
            total = net + tax
        priced.append(
            LineTotals(
                line_id=line.line_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_class=line.tax_class,
                tax_rate=store_tax["rates"][line.tax_class],
                gross=gross[index],
                line_discount=own[index],
                basket_discount=basket[index],
                promo_discount=promo_shares[index],
                discount=discount,
                net=net,
                tax=tax,
                total=total,
            )
        )
    return CartTotals(
        currency=currency,
        tax_mode=mode,
        lines=tuple(priced),
        subtotal=sum(line.gross for line in priced),
        discount=sum(line.discount for line in priced),
        basket_discount=basket_total,
        promo_discount=promo_total,
        tax=sum(line.tax for line in priced),
        total=sum(line.total for line in priced),
    )


# --- cash -----------------------------------------------------------------------------------


class TenderShort(InvalidTransition):
    """The tenders do not cover the total."""

    code = "tender_short"

    def __init__(self, missing: int, currency: str, message: str | None = None):
        self.missing = missing
        self.currency = currency
        money = Money(missing, currency)
        super().__init__(message or f"the tenders are {money.format()} short of the total", {"missing": money.to_dict()})


def cash_step(currency: str) -> int:
    """The step, in minor units, that a cash total in ``currency`` is rounded to (1: none)."""
    return CASH_ROUNDING.get(_currency(currency), 1)


def round_cash(amount: int, currency: str) -> int:
    """``amount`` rounded to the nearest cash step of ``currency``, a half step away from zero
    (CHF 12.33 -> 12.35, 12.32 -> 12.30, 12.325 never exists; SEK 99.50 -> 100)."""
    amount = _amount(amount, currency, "amount")
    step = cash_step(currency)
    return divide_half_up(amount, step) * step


def cash_change(total: int, tendered: int, currency: str) -> tuple[int, int]:
    """``(rounded_total, change)`` for ``tendered`` cash against ``total``: the total rounded to
    the currency's cash step, and what goes back to the customer (never negative).  Raises
    ``TenderShort`` (422 ``tender_short``, details ``{"missing": Money}``) when the cash does not
    cover the rounded total."""
    total = _amount(total, currency, "total")
    tendered = _amount(tendered, currency, "tendered")
    if total < 0:
        raise ValidationError("a cash total cannot be negative", field="total")
    if tendered < 0:
        raise ValidationError("tendered cash cannot be negative", field="tendered")
    rounded = round_cash(total, currency)
    if tendered < rounded:
        raise TenderShort(rounded - tendered, _currency(currency))
    return rounded, tendered - rounded


def _amount(value, currency: str, field: str) -> int:
    if isinstance(value, Money):
        if value.currency != _currency(currency):
            raise ValidationError(f"expected an amount in {currency}, not {value.currency}", field=field)
        return value.amount
    if not _is_int(value):
        raise ValidationError("an amount is a whole number of minor units", field=field)
    return value


# --- manager approval -----------------------------------------------------------------------


def needs_approval(discount, gross: int, store_threshold_percent: int | None) -> bool:
    """Whether a line or basket discount (``{"percent": p}`` or ``{"amount": a}``) on ``gross``
    needs a manager: when it takes more than ``store_threshold_percent`` of the gross.  At the
    threshold exactly, no; a threshold of 0 makes every discount need one; ``None`` none.
    Compared exactly in integers (``amount × 100 > threshold × gross``)."""
    if store_threshold_percent is None:
        return False
    if not _is_int(store_threshold_percent) or not 0 <= store_threshold_percent <= 100:
        raise ValidationError("the approval threshold is a whole percent from 0 to 100", field="discount_approval_percent")
    if not _is_int(gross) or gross < 0:
        raise ValidationError("the gross is a whole number of minor units, zero or more", field="gross")
    if discount is None:
        return False
    if isinstance(discount, Mapping) and "percent" in discount:
        _discount_amount(discount, 0, "discount")  # validates the percent
        return discount["percent"] > store_threshold_percent
    amount = _discount_amount(discount, gross, "discount")
    return amount * 100 > store_threshold_percent * gross


def override_needs_approval(unit_price: int, list_price: int) -> bool:
    """Whether a price override needs a manager: any unit price below the list price does."""
    if not _is_int(unit_price) or unit_price < 0:
        raise ValidationError("the unit price is a whole number of minor units, zero or more", field="unit_price")
    if not _is_int(list_price) or list_price < 0:
        raise ValidationError("the list price is a whole number of minor units, zero or more", field="list_price")
    return unit_price < list_price
