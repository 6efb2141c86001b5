"""Money is integer minor units. These helpers convert at the edges only."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, list_currencies

from .errors import Invalid

# ISO 4217 currencies without a minor unit; everything else has two decimals here.
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}


# The largest amount anything holds (a price, a plan's monthly price), in minor units: 10 billion
# in major units, beyond any real price and far inside BIGINT.
MAX_PRICE = 10**12


def exponent(currency: str) -> int:
    return 0 if currency.upper() in _ZERO_DECIMAL else 2


def to_major(minor: int, currency: str) -> float:
    """49_99 -> 49.99, for JSON. Exact for every amount a store can hold."""
    return float(Decimal(int(minor)).scaleb(-exponent(currency)))


def major_amounts(currency: str, **amounts: int) -> dict:
    """Amounts for JSON that is not an API schema (an error's ``details``, the data export): each a
    number in major units, with the ``currency`` alongside (RECONCILE.md "Money")."""
    return {**{name: to_major(minor, currency) for name, minor in amounts.items()}, "currency": currency.upper()}


def to_minor(amount, currency: str, *, field: str = "amount") -> int:
    """49.99 -> 4999. Refuses more decimals than the currency has, NaN and infinities, and typed
    text in exponent notation ("1e5" is a slip of the keyboard far more often than 100000.00)."""
    if isinstance(amount, str) and any(c in amount for c in "eE") and not amount.strip().isalpha():
        raise Invalid(f"{field} must be a number", details={field: ["not a number"]})
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(f"{field} must be a number", details={field: ["not a number"]}) from exc
    if not value.is_finite():
        raise Invalid(f"{field} must be a finite number", details={field: ["not finite"]})
    if value.adjusted() > 20:  # (``1e999999`` would overflow below, or make an int of a million digits)
        raise Invalid(f"{field} is too large", details={field: ["too large"]})
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise Invalid(
            f"{field} has more decimals than {currency} allows", details={field: [f"more decimals than {currency} allows"]}
        )
    return int(scaled.to_integral_value(rounding=ROUND_HALF_UP))


def check_price(minor: int, field: str) -> int:
    """An amount kept in minor units (a price, a plan's or addon's monthly price): not negative and
    at most ``MAX_PRICE`` (the columns are BIGINT; beyond it the database would refuse the row)."""
    if minor < 0:
        raise Invalid(f"{field} cannot be negative", details={field: ["negative"]})
    if minor > MAX_PRICE:
        raise Invalid(f"{field} is too large", details={field: ["too large"]})
    return minor


def money_in(value, currency: str, field: str) -> int | None:
    """Major units in (a number, or its text), minor units out, checked by ``check_price``: what the
    API's bodies and the pages' forms send. ``None`` stays ``None``."""
    if value is None:
        return None
    return check_price(to_minor(value, currency, field=field), field)


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: str | None, *, field: str = "currency") -> str:
    """An ISO 4217 currency code Babel knows (``eur`` -> ``EUR``), for a store or a plan or addon;
    a 422 naming ``field`` otherwise (``ZZZ`` is three letters, not a currency)."""
    currency = (code or "").strip().upper()
    if currency not in _currencies():
        raise Invalid(f"{field[:1].upper()}{field[1:]} must be an ISO 4217 currency code such as EUR or USD",
                      details={field: ["unknown currency"]})
    return currency


def format_money(minor: int, currency: str) -> str:
    exp = exponent(currency)
    value = Decimal(int(minor)).scaleb(-exp)
    return f"{value:,.{exp}f} {currency.upper()}"


DEFAULT_LOCALE = "en"


@lru_cache(maxsize=64)
def _locale(name: str | None) -> Locale:
    try:
        return Locale.parse(name or DEFAULT_LOCALE)
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def check_locale(name: str) -> str:
    """A locale Babel knows (``en``, ``pt_PT``, ``de-DE``), normalised as ``pt_PT``; ValueError otherwise."""
    try:
        return str(Locale.parse((name or "").strip().replace("-", "_")))
    except (ValueError, TypeError, UnknownLocaleError) as exc:
        raise ValueError("a locale such as en, en_US, pt_PT or de_DE") from exc


@lru_cache(maxsize=4096)  # pure: a catalog page formats 24 prices, mostly the same few (Babel ~55 µs each)
def display_money(minor: int, currency: str, locale: str | None = None) -> str:
    """Money as a shopper reads it, in the store's locale (Babel, CLDR): ``€10.99`` in ``en``,
    ``10,99 €`` in ``pt_PT``, ``$10.99`` in ``en_US``. Pages and emails; API messages keep
    ``format_money`` ("10.99 EUR"), and the JSON carries plain numbers."""
    value = Decimal(int(minor)).scaleb(-exponent(currency))
    return format_currency(value, currency.upper(), locale=_locale(locale))
