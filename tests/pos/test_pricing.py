"""The pricing engine: discounts before tax, per-line tax rounding, cash rounding, approvals."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidTransition, ValidationError
from core.money import Money
from pos import (
    CASH_ROUNDING,
    LineInput,
    TenderShort,
    allocate,
    cash_change,
    divide_half_up,
    needs_approval,
    override_needs_approval,
    price_cart,
    round_cash,
)

GERMANY = {"mode": "inclusive", "rates": {"standard": 1900, "reduced": 700, "zero": 0}}
NEW_YORK_CITY = {"mode": "exclusive", "rates": {"standard": "887.5", "zero": 0}}  # 8.875 %
SWITZERLAND = {"mode": "inclusive", "rates": {"standard": 810, "reduced": 260}}  # 8.1 %, 2.6 % (2024)


def line(line_id, unit_price, quantity=1, tax_class="standard", discount=None, sku=None):
    return LineInput(line_id, sku or f"SKU-{line_id}", quantity, unit_price, tax_class, discount)


# --- real-shaped numbers ------------------------------------------------------------------


def test_german_vat_inclusive_jacket_at_129_euros_carries_20_60_tax():
    cart = price_cart([line(1, 12900)], GERMANY, currency="EUR")
    (jacket,) = cart.lines
    assert (jacket.gross, jacket.discount, jacket.tax, jacket.total) == (12900, 0, 2060, 12900)
    assert cart.totals_dict() == {
        "subtotal": {"amount": 12900, "currency": "EUR"},
        "discount": {"amount": 0, "currency": "EUR"},
        "tax": {"amount": 2060, "currency": "EUR"},
        "total": {"amount": 12900, "currency": "EUR"},
    }


def test_german_basket_mixes_standard_and_reduced_rates_per_line():
    # a jacket at 19 %, two books at 7 % (1999 × 2 = 3998: 3998 × 700 / 10700 = 261.56 -> 262)
    cart = price_cart([line(1, 12900), line(2, 1999, quantity=2, tax_class="reduced")], GERMANY, currency="EUR")
    assert [(l.gross, l.tax, l.total) for l in cart.lines] == [(12900, 2060, 12900), (3998, 262, 3998)]
    assert (cart.subtotal, cart.tax, cart.total) == (16898, 2322, 16898)


def test_ten_percent_line_discount_comes_off_before_the_vat_is_worked_out():
    cart = price_cart([line(1, 12900, discount={"percent": 10})], GERMANY, currency="EUR")
    (jacket,) = cart.lines
    # 11610 × 1900 / 11900 = 1853.69 -> 1854
    assert (jacket.discount, jacket.total, jacket.tax) == (1290, 11610, 1854)


def test_new_york_city_sales_tax_8_875_percent_is_added_per_line():
    # 4999 × 8.875 % = 443.66 -> 444; 1500 × 8.875 % = 133.125 -> 133
    cart = price_cart([line(1, 4999), line(2, 1500)], NEW_YORK_CITY, currency="USD")
    assert [(l.net, l.tax, l.total) for l in cart.lines] == [(4999, 444, 5443), (1500, 133, 1633)]
    assert (cart.subtotal, cart.discount, cart.tax, cart.total) == (6499, 0, 577, 7076)
    assert cart.money("total") == Money(7076, "USD")


def test_tax_is_rounded_per_line_not_on_the_basket():
    # two 0.50 items at 19 % exclusive: 9.5 -> 10 cents each; the basket's 19 cents would differ
    cart = price_cart([line(1, 50), line(2, 50)], {"mode": "exclusive", "rates": {"standard": 1900}}, currency="EUR")
    assert [l.tax for l in cart.lines] == [10, 10]
    assert (cart.tax, cart.total) == (20, 120)


def test_half_a_cent_of_tax_rounds_up():
    # 5000 × 1900 / 10000 = 950 exactly; 5 × 1000 / 10000 = 0.5 -> 1
    cart = price_cart([line(1, 5)], {"mode": "exclusive", "rates": {"standard": 1000}}, currency="EUR")
    assert cart.lines[0].tax == 1


def test_basket_discount_of_ten_euros_is_spread_pro_rata_and_sums_exactly():
    lines = [line(1, 3333), line(2, 3333), line(3, 3334)]
    cart = price_cart(lines, GERMANY, basket_discount={"amount": 1000}, currency="EUR")
    assert [l.basket_discount for l in cart.lines] == [333, 333, 334]
    assert cart.discount == cart.basket_discount == 1000
    assert cart.total == 9000


def test_largest_remainder_gives_the_left_over_cent_to_the_largest_remainder():
    # 100 over 300:300:300 -> 33.33 each; the one cent left goes to the first (ties: earlier line)
    assert allocate(100, [300, 300, 300]) == [34, 33, 33]
    # 2 over 1:1:1 -> the first two lines on a tie
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]
    # 7 over 10:20:40 -> 1, 2, 4 exactly
    assert allocate(7, [10, 20, 40]) == [1, 2, 4]
    # 10 over 3:3:5 -> 2.72, 2.72, 4.54: floors 2, 2, 4 and the two cents to the .72s
    assert allocate(10, [3, 3, 5]) == [3, 3, 4]
    # 10 over 7:2:1 with remainders 0, 0, 0: exact
    assert allocate(10, [7, 2, 1]) == [7, 2, 1]
    # 5 over 3:3:4 -> 1.5, 1.5, 2.0: floors 1, 1, 2 and one cent to the first 0.5
    assert allocate(5, [3, 3, 4]) == [2, 1, 2]


def test_basket_percent_and_promo_stack_after_line_discounts():
    lines = [line(1, 10000, discount={"amount": 2000}), line(2, 5000)]
    cart = price_cart(lines, GERMANY, basket_discount={"percent": 10}, promo={"amount": 1500}, currency="EUR")
    # worth after line discounts 8000 + 5000; 10 % = 1300 -> 800 / 500; then 1500 over 7200 : 4500
    assert [l.line_discount for l in cart.lines] == [2000, 0]
    assert [l.basket_discount for l in cart.lines] == [800, 500]
    assert [l.promo_discount for l in cart.lines] == [923, 577]
    assert (cart.basket_discount, cart.promo_discount, cart.discount) == (1300, 1500, 4800)
    assert cart.total == 15000 - 4800


def test_promo_code_object_prices_as_its_discount(app):
    from pos import PromoCode

    promo = PromoCode(code="SPRING10", kind="percent", value=10, currency="EUR")
    cart = price_cart([line(1, 12900)], GERMANY, promo=promo, currency="EUR")
    assert cart.promo_discount == 1290


def test_amount_promo_in_another_currency_is_refused(app):
    from pos import PromoCode

    promo = PromoCode(code="FIVEOFF", kind="amount", value=500, currency="USD")
    with pytest.raises(ValidationError) as refused:
        price_cart([line(1, 12900)], GERMANY, promo=promo, currency="EUR")
    assert "promo_code" in refused.value.details


def test_discount_larger_than_the_line_stops_at_the_line():
    cart = price_cart([line(1, 1000, discount={"amount": 5000}), line(2, 2000)], GERMANY, currency="EUR")
    assert [(l.discount, l.total, l.tax) for l in cart.lines] == [(1000, 0, 0), (0, 2000, 319)]


def test_basket_discount_larger_than_the_cart_makes_it_free_not_negative():
    cart = price_cart([line(1, 1000), line(2, 2000)], NEW_YORK_CITY, basket_discount={"amount": 99999}, currency="USD")
    assert cart.discount == 3000
    assert (cart.tax, cart.total) == (0, 0)


def test_empty_cart_prices_to_zero():
    cart = price_cart([], GERMANY, basket_discount={"percent": 50}, currency="EUR")
    assert (cart.subtotal, cart.discount, cart.tax, cart.total, cart.lines) == (0, 0, 0, 0, ())


def test_lines_may_be_tuples_or_mappings():
    as_tuple = price_cart([(7, "JKT-M", 1, 12900, "standard", None)], GERMANY, currency="EUR")
    as_mapping = price_cart(
        [{"line_id": 7, "sku": "JKT-M", "quantity": 1, "unit_price": 12900, "tax_class": "standard", "line_discount": None}], GERMANY, currency="EUR"
    )
    assert as_tuple == as_mapping
    assert as_tuple.lines[0].to_dict("EUR")["total"] == {"amount": 12900, "currency": "EUR"}


# --- bad input names the field ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lines": [line(1, 100, quantity=0)]}, "quantity"),
        ({"lines": [line(1, 100, quantity=True)]}, "quantity"),
        ({"lines": [line(1, -1)]}, "unit_price"),
        ({"lines": [line(1, 10.5)]}, "unit_price"),
        ({"lines": [line(1, 100, tax_class="luxury")]}, "tax_class"),
        ({"lines": [line(1, 100, discount={"percent": 101})]}, "discount"),
        ({"lines": [line(1, 100, discount={"percent": 12.5})]}, "discount"),
        ({"lines": [line(1, 100, discount={"amount": -5})]}, "discount"),
        ({"lines": [line(1, 100, discount={"percent": 5, "amount": 5})]}, "discount"),
        ({"basket_discount": {"percent": -1}}, "basket_discount"),
        ({"basket_discount": {"amount": "10"}}, "basket_discount"),
        ({"promo": {"fraction": 1}}, "promo_code"),
        ({"store_tax": {"mode": "included", "rates": {"standard": 1900}}}, "store_tax.mode"),
        ({"store_tax": {"mode": "inclusive", "rates": {"standard": 19.0}}}, "store_tax.rates"),
        ({"store_tax": {"mode": "inclusive", "rates": {"standard": 10001}}}, "store_tax.rates"),
        ({"store_tax": {"mode": "inclusive", "rates": {"standard": "8.12345"}}}, "store_tax.rates"),
        ({"currency": "EURO"}, "currency"),
    ],
)
def test_bad_input_raises_a_validation_error_naming_the_field(kwargs, field):
    arguments = {"lines": [line(1, 100)], "store_tax": GERMANY, "currency": "EUR", **kwargs}
    with pytest.raises(ValidationError) as refused:
        price_cart(**arguments)
    assert field in refused.value.details


def test_unknown_tax_class_message_lists_the_known_classes():
    with pytest.raises(ValidationError, match="reduced, standard, zero"):
        price_cart([line(1, 100, tax_class="luxury")], GERMANY, currency="EUR")


# --- cash -------------------------------------------------------------------------------


def test_swiss_cash_total_is_rounded_to_five_rappen():
    cart = price_cart([line(1, 2990), line(2, 1743)], SWITZERLAND, currency="CHF")
    assert cart.total == 4733
    assert round_cash(cart.total, "CHF") == 4735
    assert cash_change(cart.total, 5000, "CHF") == (4735, 265)
    assert round_cash(4732, "CHF") == 4730
    assert round_cash(4727, "CHF") == 4725  # 4727.5 would go up; 4727 is nearer 4725


def test_swiss_half_step_rounds_up():
    assert round_cash(1225 + 3, "CHF") == 1230  # 12.28 -> 12.30
    assert round_cash(1202, "CHF") == 1200
    assert round_cash(1203, "CHF") == 1205


def test_whole_kronor_and_half_krone_and_untouched_euro():
    assert round_cash(9950, "SEK") == 10000
    assert round_cash(9949, "NOK") == 9900
    assert round_cash(1224, "DKK") == 1200
    assert round_cash(1225, "DKK") == 1250
    assert round_cash(12901, "EUR") == 12901
    assert cash_change(12901, 13000, "EUR") == (12901, 99)


def test_cash_short_of_the_rounded_total_raises_tender_short_with_the_missing_amount():
    with pytest.raises(TenderShort) as short:
        cash_change(4733, 4700, "CHF")
    assert short.value.code == "tender_short"
    assert isinstance(short.value, InvalidTransition)  # the web layer answers 422
    assert short.value.details == {"missing": {"amount": 35, "currency": "CHF"}}
    assert "CHF" in short.value.message


def test_cash_covering_the_rounded_total_but_not_the_exact_one_is_enough():
    assert cash_change(4732, 4730, "CHF") == (4730, 0)


def test_tender_short_answers_422_through_the_error_envelope(app):
    from web.errors import DOMAIN_STATUS

    status = next(code for cls, code in DOMAIN_STATUS if isinstance(TenderShort(1, "EUR"), cls))
    assert status == 422


def test_cash_amounts_may_be_money_in_the_same_currency_only():
    assert cash_change(Money(4733, "CHF"), Money(5000, "CHF"), "CHF") == (4735, 265)
    with pytest.raises(ValidationError) as refused:
        cash_change(Money(4733, "EUR"), 5000, "CHF")
    assert "total" in refused.value.details


# --- manager approval -------------------------------------------------------------------


def test_discount_above_the_store_threshold_needs_a_manager():
    assert needs_approval({"percent": 15}, 12900, 10) is True
    assert needs_approval({"percent": 10}, 12900, 10) is False  # at the threshold: no
    assert needs_approval({"amount": 1290}, 12900, 10) is False  # exactly 10 %
    assert needs_approval({"amount": 1291}, 12900, 10) is True
    assert needs_approval({"amount": 1}, 12900, 0) is True
    assert needs_approval({"amount": 0}, 12900, 0) is False
    assert needs_approval({"percent": 100}, 12900, None) is False
    assert needs_approval(None, 12900, 10) is False


def test_approval_threshold_out_of_range_is_refused():
    with pytest.raises(ValidationError) as refused:
        needs_approval({"percent": 5}, 100, 150)
    assert "discount_approval_percent" in refused.value.details
    with pytest.raises(ValidationError):
        needs_approval({"percent": 500}, 100, 10)


def test_any_price_below_the_list_price_needs_a_manager():
    assert override_needs_approval(12899, 12900) is True
    assert override_needs_approval(12900, 12900) is False
    assert override_needs_approval(13900, 12900) is False
    with pytest.raises(ValidationError) as refused:
        override_needs_approval(-1, 12900)
    assert "unit_price" in refused.value.details


# --- properties -------------------------------------------------------------------------

pure = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

discounts = st.one_of(
    st.none(),
    st.builds(lambda p: {"percent": p}, st.integers(0, 100)),
    st.builds(lambda a: {"amount": a}, st.integers(0, 2_000_000)),
)
rates = st.one_of(st.integers(0, 10000), st.decimals(0, 10000, places=3, allow_nan=False, allow_infinity=False).map(str))
tax_settings = st.builds(
    lambda mode, rs: {"mode": mode, "rates": dict(zip(("standard", "reduced", "zero"), rs))},
    st.sampled_from(["inclusive", "exclusive"]),
    st.tuples(rates, rates, rates),
)
cart_lines = st.lists(
    st.builds(
        lambda i, q, p, c, d: LineInput(i, f"SKU-{i}", q, p, c, d),
        st.integers(1, 10_000),
        st.integers(1, 50),
        st.integers(0, 500_000),
        st.sampled_from(["standard", "reduced", "zero"]),
        discounts,
    ),
    max_size=12,
)


@pure
@given(cart_lines, tax_settings, discounts, discounts)
def test_property_totals_are_the_sums_of_their_lines_and_nothing_is_negative(lines, store_tax, basket, promo):
    cart = price_cart(lines, store_tax, basket_discount=basket, promo=promo, currency="EUR")
    for name in ("gross", "discount", "tax", "total"):
        total_name = "subtotal" if name == "gross" else name
        assert getattr(cart, total_name) == sum(getattr(l, name) for l in cart.lines)
    for priced in cart.lines:
        for value in (
            priced.gross,
            priced.line_discount,
            priced.basket_discount,
            priced.promo_discount,
            priced.discount,
            priced.net,
            priced.tax,
            priced.total,
        ):
            assert isinstance(value, int) and value >= 0
        assert priced.gross == priced.unit_price * priced.quantity
        assert priced.discount == priced.line_discount + priced.basket_discount + priced.promo_discount <= priced.gross
        if store_tax["mode"] == "inclusive":
            assert priced.total == priced.gross - priced.discount  # the discounted gross
            assert priced.tax <= priced.total
        else:
            assert priced.total == priced.net + priced.tax


@pure
@given(cart_lines, tax_settings, discounts, discounts)
def test_property_line_shares_sum_exactly_to_the_basket_discount_and_the_promo(lines, store_tax, basket, promo):
    cart = price_cart(lines, store_tax, basket_discount=basket, promo=promo, currency="EUR")
    assert sum(l.basket_discount for l in cart.lines) == cart.basket_discount
    assert sum(l.promo_discount for l in cart.lines) == cart.promo_discount
    worth = sum(l.gross - l.line_discount for l in cart.lines)
    if basket and "amount" in basket:
        assert cart.basket_discount == min(basket["amount"], worth)
    if basket and "percent" in basket:
        assert cart.basket_discount == divide_half_up(worth * basket["percent"], 100)


@pure
@given(cart_lines, tax_settings)
def test_property_inclusive_tax_is_the_part_of_the_total_the_rate_says(lines, store_tax):
    from fractions import Fraction

    cart = price_cart(lines, store_tax, currency="EUR")
    for priced in cart.lines:
        rate = Fraction(str(priced.tax_rate)) if isinstance(priced.tax_rate, str) else Fraction(priced.tax_rate)
        base = priced.total if store_tax["mode"] == "inclusive" else priced.net
        exact = base * rate / (10000 + rate) if store_tax["mode"] == "inclusive" else base * rate / 10000
        assert abs(priced.tax - exact) <= Fraction(1, 2)


@pure
@given(st.integers(1, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_property_allocation_sums_exactly_and_no_share_exceeds_its_weight(amount, weights):
    amount = min(amount, sum(weights))
    shares = allocate(amount, weights)
    assert sum(shares) == amount
    assert all(0 <= share <= weight for share, weight in zip(shares, weights))
    # pro rata: every share is within one minor unit of its exact share
    if sum(weights):
        assert all(abs(share * sum(weights) - amount * weight) < sum(weights) for share, weight in zip(shares, weights))


@pure
@given(st.integers(0, 10**9), st.integers(0, 10**9), st.sampled_from(sorted(CASH_ROUNDING) + ["EUR", "USD", "JPY"]))
def test_property_cash_change_is_never_negative_and_rounding_moves_at_most_half_a_step(total, tendered, currency):
    step = CASH_ROUNDING.get(currency, 1)
    rounded = round_cash(total, currency)
    assert rounded % step == 0
    assert 2 * abs(rounded - total) <= step
    try:
        rounded_total, change = cash_change(total, tendered, currency)
    except TenderShort as short:
        assert tendered < rounded
        assert short.details["missing"]["amount"] == rounded - tendered > 0
    else:
        assert rounded_total == rounded
        assert change >= 0
        assert rounded_total + change == tendered
