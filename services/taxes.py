"""Taxes (Seed A "Taxes"): rules by country (and region) and tax class, one rule per line,
amounts rounded half-up in minor units.

Which rule: the active rules of the line's country and class; a region's rule beats the
country-wide one (region ""); among equally specific rules the higher ``priority`` wins (then
the older). A class with no rule of its own falls back to the country's ``standard`` rule (a
"digital" class is taxed at the standard rate unless the store says otherwise); no rule at all
is no tax.

Which country: digital goods are taxed where the buyer is (EU VAT on digital services), physical
goods where they are shipped to (``tax_country_for``). When the buyer's country is unknown (a
digital-only checkout asks for no address) the store's ``tax_country`` setting is used.

Prices entered tax-inclusive or tax-exclusive: the store setting ``prices_include_tax``. Exclusive:
tax = amount x rate, added on top. Inclusive: tax = amount x rate / (1 + rate), already inside the
price (net = amount - tax). Either way the tax is rounded half-up to the minor unit.

For checkout: ``cart_tax(lines, ...)`` returns the tax lines (one per rule) that become the order's
``tax`` adjustments, and ``added``: what the tax adds to the total (0 when prices include it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import select

from extensions import db
from models import Store, TaxRule

from .addresses import is_country
from .cache import declare, store_fact
from .errors import Invalid, NotFound
from .stores import settings_of

STANDARD = "standard"
MAX_RATE_BPS = 100_000  # 1000 %: a sanity bound, not a policy
_CLASS = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
FIELDS = ("name", "country", "region", "tax_class", "rate_bps", "priority", "is_active")


# --- the arithmetic ---------------------------------------------------------------------------

def round_half_up(value: Decimal) -> int:
    """To a whole minor unit, halves away from zero (0.5 cent -> 1 cent)."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class TaxAmount:
    tax: int
    net: int
    gross: int
    rate_bps: int
    inclusive: bool


def apply_rate(amount: int, rate_bps: int, *, inclusive: bool) -> TaxAmount:
    """The tax on ``amount`` (minor units) at ``rate_bps``. Exclusive: the tax comes on top;
    inclusive: the tax is the part of ``amount`` that is tax."""
    rate = Decimal(rate_bps)
    if inclusive:
        tax = round_half_up(Decimal(amount) * rate / (Decimal(10_000) + rate))
        return TaxAmount(tax=tax, net=amount - tax, gross=amount, rate_bps=rate_bps, inclusive=True)
    tax = round_half_up(Decimal(amount) * rate / Decimal(10_000))
    return TaxAmount(tax=tax, net=amount, gross=amount + tax, rate_bps=rate_bps, inclusive=False)


def tax_country_for(line_kind: str, buyer_country: str | None, shipping_country: str | None) -> str | None:
    """Where a line is taxed: a digital line where the buyer is (EU VAT for digital services),
    a physical one where it is shipped to. None: unknown (the store's ``tax_country`` then)."""
    if line_kind == "physical":
        if not shipping_country:
            raise Invalid("A physical item is taxed where it is shipped to: a shipping address is needed",
                          code="shipping_address_required", details={"shipping_country": ["required"]})
        return shipping_country.upper()
    country = buyer_country or shipping_country
    return country.upper() if country else None


def prices_include_tax(store: Store) -> bool:
    return settings_of(store).prices_include_tax


# --- choosing a rule --------------------------------------------------------------------------

def _candidates(country: str, region: str | None, tax_classes: tuple[str, ...]) -> list[TaxRule]:
    region = (region or "").strip()
    stmt = select(TaxRule).where(TaxRule.is_active.is_(True), TaxRule.country == country.upper(),
                                 TaxRule.tax_class.in_(tax_classes))
    return [r for r in db.session.scalars(stmt) if r.region == "" or r.region.casefold() == region.casefold()]


def _best(rules: list[TaxRule]) -> TaxRule | None:
    if not rules:
        return None
    return sorted(rules, key=lambda r: (r.region == "", -r.priority, r.created_at, r.id))[0]


RULES_CACHE = declare("tax_rules_exist", (TaxRule,))


_ANY_ACTIVE_RULE = select(TaxRule.id).where(TaxRule.is_active.is_(True)).limit(1)


def any_rules() -> bool:
    """Whether the bound store has an active tax rule at all (``cache.store_fact``, cleared by any
    change of a rule): a store without rules taxes nothing, so pricing a cart need not look up
    where the buyer is."""
    return store_fact(RULES_CACHE, (TaxRule,), lambda: db.session.scalar(_ANY_ACTIVE_RULE) is not None)


def rule_for(tax_class: str, country: str | None, region: str | None = None) -> TaxRule | None:
    """The rule that taxes ``tax_class`` in ``country`` (and ``region``), or None (no tax)."""
    if not country:
        return None
    tax_class = (tax_class or STANDARD).strip().lower()
    classes = (tax_class,) if tax_class == STANDARD else (tax_class, STANDARD)
    rules = _candidates(country, region, classes)
    return _best([r for r in rules if r.tax_class == tax_class]) or _best([r for r in rules if r.tax_class == STANDARD])


@dataclass(frozen=True)
class TaxResult:
    amount: int
    tax: int
    net: int
    gross: int
    rate_bps: int
    inclusive: bool
    rule: TaxRule | None
    country: str | None


def calculate(tax_class: str, country: str | None, amount: int, *, region: str | None = None,
              inclusive: bool | None = None, store: Store | None = None) -> TaxResult:
    """The tax on one amount: its rule, rate, tax, net and gross (``inclusive`` defaults to the
    store's setting)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise Invalid("amount cannot be negative", details={"amount": ["negative"]})
    if inclusive is None:
        inclusive = prices_include_tax(store) if store is not None else False
    rule = rule_for(tax_class, country, region)
    rate = rule.rate_bps if rule else 0
    result = apply_rate(amount, rate, inclusive=inclusive)
    return TaxResult(amount=amount, tax=result.tax, net=result.net, gross=result.gross, rate_bps=rate,
                     inclusive=inclusive, rule=rule, country=country.upper() if country else None)


def tax_for(tax_class: str, country: str | None, region: str | None, amount: int, inclusive: bool) -> int:
    """The tax in minor units on ``amount`` (the checkout's short form of ``calculate``)."""
    return calculate(tax_class, country, amount, region=region, inclusive=inclusive).tax


# --- a cart's tax lines -----------------------------------------------------------------------

@dataclass(frozen=True)
class TaxableLine:
    """What tax needs to know of a cart line: its amount after the reseller discount and its share
    of the coupon (``allocate_discount``), its kind (digital/physical) and tax class."""

    amount: int
    kind: str = "digital"
    tax_class: str = STANDARD
    ref: str | None = None  # the caller's key for the line (a cart item id)


@dataclass
class TaxLine:
    """One order adjustment of kind ``tax``: every line taxed by one rule."""

    label: str
    rule_id: str
    country: str
    rate_bps: int
    base: int
    amount: int


@dataclass
class CartTax:
    lines: list[TaxLine] = field(default_factory=list)
    inclusive: bool = False
    total: int = 0  # the tax in the cart
    added: int = 0  # what it adds to the order's total (0 when prices include tax)


def _label(rule: TaxRule) -> str:
    rate = f"{Decimal(rule.rate_bps).scaleb(-2).normalize():f}"
    where = f"{rule.country}-{rule.region}" if rule.region else rule.country
    return f"{rule.name} {rate}% ({where})"[:120]


def allocate_discount(amounts: list[int], discount: int) -> list[int]:
    """Spread a cart-wide discount (the coupon) over lines in proportion to their amounts, in whole
    minor units that add up exactly (largest remainders get the leftover units)."""
    total = sum(amounts)
    if total <= 0 or discount <= 0:
        return [0 for _ in amounts]
    discount = min(discount, total)
    shares = [Decimal(a) * discount / total for a in amounts]
    floors = [int(s) for s in shares]
    left = discount - sum(floors)
    order = sorted(range(len(amounts)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def cart_tax(lines: list[TaxableLine], *, buyer_country: str | None, shipping_country: str | None = None,
             buyer_region: str | None = None, shipping_region: str | None = None, shipping_amount: int = 0,
             store: Store | None = None, inclusive: bool | None = None) -> CartTax:
    """The cart's tax lines, one per rule (bases summed per rule, then rounded half-up once).

    Each line is taxed in ``tax_country_for`` its kind; shipping (``shipping_amount``) is taxed as a
    physical ``standard`` line. Lines with no country known fall back to the store's ``tax_country``.
    """
    if inclusive is None:
        inclusive = prices_include_tax(store) if store is not None else False
    fallback = settings_of(store).tax_country if store is not None else None
    every = list(lines)
    if shipping_amount:
        every.append(TaxableLine(amount=shipping_amount, kind="physical", tax_class=STANDARD, ref="shipping"))
    groups: dict[str, tuple[TaxRule, int]] = {}
    chosen: dict[tuple, TaxRule | None] = {}
    for line in every:
        country = tax_country_for(line.kind, buyer_country, shipping_country) or fallback
        region = shipping_region if line.kind == "physical" else (buyer_region if buyer_country else shipping_region)
        key = (line.tax_class, country, region)
        if key not in chosen:  # one query per (class, country, region), not per line
            chosen[key] = rule_for(line.tax_class, country, region)
        rule = chosen[key]
        if rule is None or line.amount <= 0:
            continue
        held = groups.get(rule.id)
        groups[rule.id] = (rule, (held[1] if held else 0) + line.amount)
    result = CartTax(inclusive=inclusive)
    for rule, base in groups.values():
        amount = apply_rate(base, rule.rate_bps, inclusive=inclusive).tax
        if amount:
            result.lines.append(TaxLine(label=_label(rule), rule_id=rule.id, country=rule.country,
                                        rate_bps=rule.rate_bps, base=base, amount=amount))
    result.lines.sort(key=lambda t: (t.country, -t.rate_bps, t.label))
    result.total = sum(t.amount for t in result.lines)
    result.added = 0 if inclusive else result.total
    return result


# --- the rules (admin) ------------------------------------------------------------------------

def rate_bps_of(value) -> int:
    """A rate typed as a percentage (``23``, ``6.5``, ``"21 %"``) in basis points: at most two
    decimals, 0 to 1000 % (the admin page and the API both read rates through this)."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value if value is not None else "").strip()
                                                                  .rstrip("%").strip())
    except (InvalidOperation, ValueError) as exc:
        raise Invalid("The rate is a number such as 23 or 6.5", details={"rate": ["not a number"]}) from exc
    bps = number * 100 if number.is_finite() else Decimal(-1)
    if bps != bps.to_integral_value():
        raise Invalid("A rate has at most two decimals", details={"rate": ["too many decimals"]})
    if not 0 <= bps <= MAX_RATE_BPS:
        raise Invalid("A rate is between 0 and 1000 %", details={"rate": ["out of range"]})
    return int(bps)


def normalize_country(value, field_name: str = "country") -> str:
    """An ISO 3166-1 alpha-2 country code (``addresses.is_country``), upper case: tax rules, shipping
    zones and the addresses they are matched against."""
    country = (value or "").strip().upper() if isinstance(value, str) else ""
    if not _COUNTRY.match(country):
        raise Invalid("A country is a two-letter ISO code such as PT", details={field_name: ["two-letter country code"]})
    if not is_country(country):
        raise Invalid(f"{country} is not a country: a country is a two-letter ISO code such as PT",
                      details={field_name: [f"{country} is not an ISO 3166-1 country code"]})
    return country


def normalize_class(value) -> str:
    tax_class = (value or "").strip().lower() if isinstance(value, str) else ""
    if not _CLASS.match(tax_class):
        raise Invalid("A tax class is 1-32 lower-case letters, digits, - or _ (standard, reduced, digital...)",
                      details={"tax_class": ["invalid"]})
    return tax_class


def _check(data: dict) -> dict:
    out = {k: v for k, v in data.items() if k in FIELDS}
    if "name" in out:
        name = (out["name"] or "").strip() if isinstance(out["name"], str) else ""
        if not name or len(name) > 120:
            raise Invalid("A name is 1-120 characters", details={"name": ["required"]})
        out["name"] = name
    if "country" in out:
        out["country"] = normalize_country(out["country"])
    if "region" in out:
        region = (out["region"] or "").strip()
        if len(region) > 64:
            raise Invalid("A region is at most 64 characters", details={"region": ["too long"]})
        out["region"] = region
    if "tax_class" in out:
        out["tax_class"] = normalize_class(out["tax_class"])
    if "rate_bps" in out:
        rate = out["rate_bps"]
        if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_RATE_BPS:
            raise Invalid("A rate is between 0 and 1000 %", details={"rate": ["out of range"]})
    if "priority" in out:
        priority = out["priority"]
        if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
            raise Invalid("A priority is a whole number from -1000 to 1000", details={"priority": ["out of range"]})
    return out


def create_rule(data: dict) -> TaxRule:
    data = _check(data)
    for required in ("country", "rate_bps"):
        if required not in data:
            raise Invalid(f"{required} is required", details={"rate" if required == "rate_bps" else required: ["required"]})
    data.setdefault("name", "Tax")
    rule = TaxRule(**data)
    db.session.add(rule)
    db.session.flush()
    return rule


def update_rule(rule: TaxRule, changes: dict) -> TaxRule:
    for key, value in _check(changes).items():
        setattr(rule, key, value)
    db.session.flush()
    return rule


def get_rule(rule_id: str) -> TaxRule:
    rule = db.session.get(TaxRule, rule_id) if rule_id else None
    if rule is None:
        raise NotFound("No such tax rule", code="tax_rule_not_found")
    return rule


def delete_rule(rule: TaxRule) -> None:
    db.session.delete(rule)
    db.session.flush()


def list_rules(*, country: str | None = None, tax_class: str | None = None) -> list[TaxRule]:
    """The store's rules by country, region, class, then priority (highest first)."""
    stmt = select(TaxRule)
    if country:
        stmt = stmt.where(TaxRule.country == country.strip().upper())
    if tax_class:
        stmt = stmt.where(TaxRule.tax_class == tax_class.strip().lower())
    return list(db.session.scalars(stmt.order_by(TaxRule.country, TaxRule.region, TaxRule.tax_class,
                                                 TaxRule.priority.desc(), TaxRule.created_at)))
