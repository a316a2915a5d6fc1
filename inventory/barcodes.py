"""EAN-13 and UPC-A barcodes with their check digits."""

from __future__ import annotations

from core.errors import ValidationError


def check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the digits before it (EAN-13 body of 12, UPC-A body of 11)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def symbology(code: str) -> str:
    """'ean13' or 'upca' for a valid code; ValueError naming what is wrong otherwise."""
    if not code.isdigit():
        raise ValueError(f"{code!r} is not all digits")
    if len(code) not in (12, 13):
        raise ValueError(f"{code!r} has {len(code)} digits; EAN-13 has 13 and UPC-A 12")
    if check_digit(code[:-1]) != int(code[-1]):
        raise ValueError(f"{code!r} has a wrong check digit (expected {check_digit(code[:-1])})")
    return "ean13" if len(code) == 13 else "upca"


def normalise(code: str, field: str = "barcodes") -> tuple[str, str]:
    """Strip spaces and dashes, validate, and answer (code, symbology); ValidationError on ``field``."""
    cleaned = "".join(ch for ch in str(code) if ch not in " -")
    try:
        return cleaned, symbology(cleaned)
    except ValueError as exc:
        raise ValidationError(str(exc), field=field) from None


def equivalents(code: str) -> list[str]:
    """The forms a scanner may send for one item: a UPC-A is the EAN-13 with a leading zero."""
    forms = [code]
    if len(code) == 12:
        forms.append("0" + code)
    elif len(code) == 13 and code.startswith("0"):
        forms.append(code[1:])
    return forms


def canonical(code: str) -> str:
    """One form per item, to compare codes by: a UPC-A as its EAN-13 (with the leading zero)."""
    return "0" + code if len(code) == 12 else code


def make_ean13(body12: str) -> str:
    """Append the check digit to 12 digits."""
    return body12 + str(check_digit(body12))
