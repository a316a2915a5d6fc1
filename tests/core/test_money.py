import pytest

from core.money import Money


@pytest.mark.parametrize("text, amount", [("129", 12900), ("129.00", 12900), ("1,299.00", 129900), ("0.5", 50)])
def test_parse_decimal_gives_minor_units(text, amount):
    assert Money.parse_decimal(text, "EUR") == Money(amount, "EUR")


@pytest.mark.parametrize("text", ["129,00", "12,9", "1,29,000", "-1", "abc", "1.005", "NaN"])
def test_parse_decimal_refuses_what_it_would_have_to_guess(text):
    with pytest.raises(ValueError):
        Money.parse_decimal(text, "EUR")


def test_yen_has_no_minor_unit_and_format_shows_the_symbol():
    assert Money.parse_decimal("1200", "JPY") == Money(1200, "JPY")
    assert Money(12900, "EUR").format() == "€129.00"
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")
