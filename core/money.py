"""Money in integer minor units with its currency."""

from __future__ import annotations

from dataclasses import dataclass

# ISO 4217 exponents that differ from 2; everything else is cents.
_EXPONENT = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isalpha()):
            raise ValueError("Money.currency must be a three-letter ISO 4217 code")
        object.__setattr__(self, "currency", self.currency.upper())

    def to_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * int(factor), self.currency)

    def _same_currency(self, other: Money):
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    @staticmethod
    def exponent(currency: str) -> int:
        return _EXPONENT.get(currency.upper(), 2)

    @classmethod
    def parse_decimal(cls, text: str, currency: str) -> Money:
        """'12.50' or '1,299.00' in EUR -> Money; raises ValueError on anything else (a decimal
        comma like '12,90' is refused rather than guessed at)."""
        import re
        from decimal import Decimal, InvalidOperation

        raw = str(text).strip()
        if "," in raw:
            if not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
                raise ValueError(f"not a price: {text!r}")
            raw = raw.replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"not a price: {text!r}") from None
        if not value.is_finite() or value < 0:
            raise ValueError(f"not a price: {text!r}")
        minor = value.scaleb(cls.exponent(currency))
        if minor != minor.to_integral_value():
            raise ValueError(f"too many decimals for {currency}: {text!r}")
        return cls(int(minor), currency)

    def format(self) -> str:
        exp = self.exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        major, minor = divmod(abs(self.amount), 10**exp) if exp else (abs(self.amount), 0)
        symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(self.currency)
        body = f"{major:,}" + (f".{minor:0{exp}d}" if exp else "")
        return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {self.currency}"
