"""Promo codes: created once in any case, found with a reason when they do not apply, used at most max_uses times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from core import db
from core.errors import Conflict, ValidationError
from core.money import Money
from pos import PromoCode, PromoUsedUp, create_promo, find_promo, normalise_promo_code, price_cart, redeem_promo
from tests.concurrency import race

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
GERMANY = {"mode": "inclusive", "rates": {"standard": 1900}}


def refusal(error) -> str:
    assert set(error.value.details) == {"promo_code"}
    return error.value.details["promo_code"][0]


def test_promo_code_is_found_in_any_case_and_with_stray_spaces():
    create_promo("Spring10", "percent", 10, "EUR")
    db.session.commit()
    assert find_promo("  spring 10 ", NOW, Money(5000, "EUR")).code == "SPRING10"
    assert normalise_promo_code("sPrInG10") == "SPRING10"


def test_the_same_code_in_another_case_is_a_conflict():
    create_promo("SPRING10", "percent", 10, "EUR")
    with pytest.raises(Conflict) as taken:
        create_promo("spring10", "amount", 500, "EUR")
    assert "code" in taken.value.details


def test_the_database_refuses_a_second_row_with_the_same_code():
    create_promo("SPRING10", "percent", 10, "EUR")
    db.session.add(PromoCode(code="SPRING10", kind="amount", value=5, currency="EUR"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("X", "percent", 10, "EUR"), "code"),
        (("SPRING10", "fixed", 10, "EUR"), "kind"),
        (("SPRING10", "percent", 101, "EUR"), "value"),
        (("SPRING10", "amount", -1, "EUR"), "value"),
        (("SPRING10", "amount", 1.5, "EUR"), "value"),
        (("SPRING10", "amount", 100, "EURO"), "currency"),
    ],
)
def test_bad_promo_fields_are_refused_by_name(arguments, field):
    with pytest.raises(ValidationError) as refused:
        create_promo(*arguments)
    assert field in refused.value.details


def test_bad_promo_dates_spend_and_limits_are_refused_by_name():
    cases = [
        ({"starts_at": datetime(2026, 4, 1)}, "starts_at"),  # naive
        ({"starts_at": NOW, "ends_at": NOW}, "ends_at"),
        ({"minimum_spend": Money(5000, "USD")}, "minimum_spend"),
        ({"minimum_spend": -1}, "minimum_spend"),
        ({"max_uses": 0}, "max_uses"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationError) as refused:
            create_promo("SPRING10", "percent", 10, "EUR", **extra)
        assert field in refused.value.details, extra


def test_unknown_code_says_so():
    with pytest.raises(ValidationError) as refused:
        find_promo("NOPE", NOW, Money(5000, "EUR"))
    assert refusal(refused) == "there is no promo code NOPE"


def test_code_not_started_yet_says_from_when():
    create_promo("SUMMER", "percent", 15, "EUR", starts_at=datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(ValidationError) as refused:
        find_promo("summer", NOW, Money(5000, "EUR"))
    assert refusal(refused) == "the promo code SUMMER is valid from 2026-06-01T00:00:00+00:00"


def test_expired_code_says_since_when_and_its_end_is_exclusive():
    ends = NOW + timedelta(hours=1)
    create_promo("EASTER", "amount", 500, "EUR", starts_at=NOW - timedelta(days=7), ends_at=ends)
    assert find_promo("EASTER", ends - timedelta(seconds=1), Money(5000, "EUR")).code == "EASTER"
    with pytest.raises(ValidationError) as refused:
        find_promo("EASTER", ends, Money(5000, "EUR"))
    assert refusal(refused) == "the promo code EASTER expired on 2026-04-01T13:00:00+00:00"


def test_switched_off_code_is_no_longer_valid():
    create_promo("OLD", "percent", 5, "EUR", active=False)
    with pytest.raises(ValidationError) as refused:
        find_promo("old", NOW, Money(5000, "EUR"))
    assert refusal(refused) == "the promo code OLD is no longer valid"


def test_minimum_spend_not_met_says_how_much_more_is_needed():
    create_promo("TENOFF50", "amount", 1000, "EUR", minimum_spend=Money(5000, "EUR"))
    with pytest.raises(ValidationError) as refused:
        find_promo("TENOFF50", NOW, Money(3750, "EUR"))
    assert refusal(refused) == "the promo code TENOFF50 needs a minimum spend of €50.00: add €12.50 more"
    assert find_promo("TENOFF50", NOW, Money(5000, "EUR")).code == "TENOFF50"  # exactly the minimum is enough


def test_code_for_another_currency_is_refused():
    create_promo("FIVEUSD", "amount", 500, "USD")
    with pytest.raises(ValidationError) as refused:
        find_promo("FIVEUSD", NOW, Money(5000, "EUR"))
    assert refusal(refused) == "the promo code FIVEUSD is for baskets in USD, not EUR"


def test_found_promo_prices_a_cart():
    create_promo("TENOFF50", "amount", 1000, "EUR", minimum_spend=5000)
    promo = find_promo("tenoff50", NOW, Money(12900, "EUR"))
    cart = price_cart([(1, "JKT-M", 1, 12900, "standard", None)], GERMANY, promo=promo, currency="EUR")
    # 11900 × 1900 / 11900 = 1900
    assert (cart.promo_discount, cart.total, cart.tax) == (1000, 11900, 1900)


def test_redeeming_counts_each_use_until_max_uses_then_conflicts():
    promo = create_promo("TWICE", "percent", 10, "EUR", max_uses=2)
    db.session.commit()
    assert redeem_promo(promo).uses == 1
    assert redeem_promo(promo).uses == 2
    with pytest.raises(PromoUsedUp) as used_up:
        redeem_promo(promo)
    assert used_up.value.code == "promo_used_up"
    assert isinstance(used_up.value, Conflict)  # 409
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(PromoCode, promo.id).uses == 2
    with pytest.raises(ValidationError) as refused:
        find_promo("twice", NOW, Money(5000, "EUR"))
    assert refusal(refused) == "the promo code TWICE has been used up"


def test_code_without_a_limit_is_redeemed_any_number_of_times():
    promo = create_promo("ALWAYS", "percent", 5, "EUR")
    for _ in range(5):
        redeem_promo(promo)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(PromoCode, promo.id).uses == 5


def test_a_rolled_back_checkout_gives_the_use_back():
    promo = create_promo("ONCE", "percent", 10, "EUR", max_uses=1)
    db.session.commit()
    redeem_promo(promo)
    db.session.rollback()
    assert db.session.get(PromoCode, promo.id).uses == 0
    assert redeem_promo(db.session.get(PromoCode, promo.id)).uses == 1


def test_the_database_refuses_uses_beyond_max_uses():
    promo = create_promo("ONCE", "percent", 10, "EUR", max_uses=1)
    promo.uses = 2
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_concurrent_checkouts_racing_for_the_last_use_redeem_it_once(app):
    promo = create_promo("LASTONE", "amount", 500, "EUR", max_uses=3, minimum_spend=0)
    promo.uses = 2
    promo_id = promo.id
    db.session.commit()  # and no read after it: on SQLite that would begin a write transaction

    def checkout():  # each found the code with a use left before any of them redeemed it
        return redeem_promo(db.session.get(PromoCode, promo_id)).uses

    outcomes = race(app, [checkout] * 8)
    assert sorted(outcome.kind for outcome in outcomes) == ["ok"] + ["refused"] * 7, outcomes
    assert all(o.value.startswith("promo_used_up:") for o in outcomes if o.kind == "refused"), outcomes
    db.session.expire_all()
    assert db.session.get(PromoCode, promo_id).uses == 3


def test_concurrent_redemptions_of_an_unlimited_code_lose_no_count(app):
    promo = create_promo("MANY", "percent", 5, "EUR")
    promo_id = promo.id
    db.session.commit()

    def checkout():
        return redeem_promo(db.session.get(PromoCode, promo_id)).uses

    outcomes = race(app, [checkout] * 8)
    assert [o.kind for o in outcomes] == ["ok"] * 8, outcomes
    assert sorted(o.value for o in outcomes) == list(range(1, 9))
    db.session.expire_all()
    assert db.session.get(PromoCode, promo_id).uses == 8
