"""Money is integer minor units. These helpers convert at the edges only."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import Invalid

# ISO 4217 currencies without a minor unit; everything else has two decimals here.
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}


def exponent(currency: str) -> int:
    return 0 if currency.upper() in _ZERO_DECIMAL else 2


def to_major(minor: int, currency: str) -> float:
    """49_99 -> 49.99, for JSON. Exact for every amount a store can hold."""
    return float(Decimal(int(minor)).scaleb(-exponent(currency)))


def to_minor(amount, currency: str, *, field: str = "amount") -> int:
    """49.99 -> 4999. Refuses more decimals than the currency has, NaN and infinities."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(f"{field} must be a number", details={field: ["not a number"]}) from exc
    if not value.is_finite():
        raise Invalid(f"{field} must be a finite number", details={field: ["not finite"]})
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise Invalid(
            f"{field} has more decimals than {currency} allows", details={field: [f"more decimals than {currency} allows"]}
        )
    return int(scaled.to_integral_value(rounding=ROUND_HALF_UP))


def format_money(minor: int, currency: str) -> str:
    exp = exponent(currency)
    value = Decimal(int(minor)).scaleb(-exp)
    return f"{value:,.{exp}f} {currency.upper()}"
