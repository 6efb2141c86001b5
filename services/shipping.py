"""Shipping (Seed A "Shipping"): zones of countries and postal-code prefixes, each with methods.

Which zone: the most specific one that takes the destination. A zone naming postal-code prefixes
takes only codes that start with one of them (the longest matching prefix wins); a zone naming
countries only takes the whole country; the "rest of the world" zone takes what no other zone
does. Ties go to the lower ``position``, then the older zone. One zone answers; its active
methods are the options, in ``position`` order.

What a method costs, for a parcel of ``weight_grams`` and a ``subtotal`` (minor units):
* ``flat``: its ``price``;
* ``weight``: the price of the first band whose ``up_to_grams`` is at least the weight (exactly at
  a band's limit is that band; one gram over is the next); heavier than the last band: not offered;
* ``free``: nothing, offered only from ``free_threshold``;
* any method with a ``free_threshold`` costs nothing once the subtotal reaches it (at it: free).

For checkout: ``options_for(country, postal_code, weight_grams, subtotal) -> list[Option]`` and
``option_for(method_id, ...)`` (the one the buyer chose, refused when it no longer applies).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from extensions import db
from models import SHIPPING_KINDS, ShippingMethod, ShippingZone

from .errors import Invalid, NotFound
from .stores import current_currency
from .taxes import normalize_country

MAX_MONEY = 10**12
MAX_GRAMS = 10**9
_POSTAL = re.compile(r"[\s\-]")
ZONE_FIELDS = ("name", "countries", "postal_prefixes", "rest_of_world", "position")
METHOD_FIELDS = ("name", "kind", "price", "weight_bands", "free_threshold", "min_days", "max_days", "is_active",
                 "position")


def normalize_postal(code: str | None) -> str:
    """``"1000-001"``, ``"sw1a 1aa"`` -> ``"1000001"``, ``"SW1A1AA"``: prefixes and codes compare so."""
    return _POSTAL.sub("", code or "").upper()


# --- the arithmetic ---------------------------------------------------------------------------

def band_price(bands: list[dict], weight_grams: int) -> int | None:
    """The price of the first band that holds ``weight_grams`` (``up_to_grams`` inclusive), None
    when the parcel is heavier than every band."""
    for band in sorted(bands, key=lambda b: b["up_to_grams"]):
        if weight_grams <= band["up_to_grams"]:
            return band["price"]
    return None


def method_price(method: ShippingMethod, weight_grams: int, subtotal: int) -> int | None:
    """What ``method`` costs for this parcel and subtotal; None: it is not offered."""
    free = method.free_threshold is not None and subtotal >= method.free_threshold
    if method.kind == "free":
        return 0 if free else None
    if method.kind == "weight":
        price = band_price(method.weight_bands or [], weight_grams)
        if price is None:
            return None
    else:
        price = method.price
    return 0 if free else price


def _zone_score(zone: ShippingZone, country: str, postal: str) -> tuple[int, int] | None:
    """How specifically ``zone`` takes the destination (higher is more specific), or None."""
    if zone.rest_of_world:
        return (0, 0)
    if country not in (zone.countries or []):
        return None
    if zone.postal_prefixes:
        matching = [p for p in zone.postal_prefixes if postal.startswith(p)]
        return (2, max(len(p) for p in matching)) if matching and postal else None
    return (1, 0)


def zone_for(country: str, postal_code: str | None = None) -> ShippingZone | None:
    """The one zone that ships to this destination, or None (the store does not ship there)."""
    country = normalize_country(country)
    postal = normalize_postal(postal_code)
    zones = db.session.scalars(select(ShippingZone).options(selectinload(ShippingZone.methods))).all()
    scored = [(score, zone) for zone in zones if (score := _zone_score(zone, country, postal)) is not None]
    if not scored:
        return None
    scored.sort(key=lambda item: (-item[0][0], -item[0][1], item[1].position, item[1].created_at, item[1].id))
    return scored[0][1]


@dataclass(frozen=True)
class Option:
    """One way to ship the parcel: what checkout shows and what becomes the ``shipping`` adjustment."""

    method_id: str
    zone_id: str
    zone_name: str
    name: str
    kind: str
    price: int  # minor units
    min_days: int | None
    max_days: int | None
    is_free: bool

    @property
    def delivery_estimate(self) -> str:
        return delivery_text(self.min_days, self.max_days)


def delivery_text(min_days: int | None, max_days: int | None) -> str:
    """"2-5 days", "3 days", "up to 7 days", "from 2 days", or ""."""
    if min_days is not None and max_days is not None:
        return f"{min_days} day{'s' if min_days != 1 else ''}" if min_days == max_days \
            else f"{min_days}–{max_days} days"
    if max_days is not None:
        return f"up to {max_days} day{'s' if max_days != 1 else ''}"
    if min_days is not None:
        return f"from {min_days} day{'s' if min_days != 1 else ''}"
    return ""


def _check_quantities(weight_grams: int, subtotal: int) -> None:
    if isinstance(weight_grams, bool) or not isinstance(weight_grams, int) or not 0 <= weight_grams <= MAX_GRAMS:
        raise Invalid("weight is a whole number of grams, 0 or more", details={"weight": ["invalid"]})
    if isinstance(subtotal, bool) or not isinstance(subtotal, int) or not 0 <= subtotal <= MAX_MONEY:
        raise Invalid("subtotal cannot be negative", details={"subtotal": ["invalid"]})


def options_for(country: str, postal_code: str | None, weight_grams: int, subtotal: int) -> list[Option]:
    """The shipping options for a parcel of ``weight_grams`` worth ``subtotal`` (minor units, after
    discounts) to ``country``/``postal_code``: the active methods of the most specific zone that
    apply, in position order. Empty: nothing ships there (or nothing that carries this weight)."""
    _check_quantities(weight_grams, subtotal)
    zone = zone_for(country, postal_code)
    if zone is None:
        return []
    options = []
    for method in zone.methods:
        if not method.is_active:
            continue
        price = method_price(method, weight_grams, subtotal)
        if price is None:
            continue
        options.append(Option(method_id=method.id, zone_id=zone.id, zone_name=zone.name, name=method.name,
                              kind=method.kind, price=price, min_days=method.min_days, max_days=method.max_days,
                              is_free=price == 0))
    return options


def option_for(method_id: str, country: str, postal_code: str | None, weight_grams: int, subtotal: int) -> Option:
    """The option the buyer chose, priced now; refused (422 ``shipping_method_unavailable``) when it
    does not ship this parcel to this destination."""
    for option in options_for(country, postal_code, weight_grams, subtotal):
        if option.method_id == method_id:
            return option
    raise Invalid("This shipping method does not deliver this order to that address",
                  code="shipping_method_unavailable", details={"shipping_method_id": ["unavailable"]})


# --- zones and methods (admin) ----------------------------------------------------------------

def _int_field(out: dict, name: str, low: int, high: int, *, nullable: bool) -> None:
    if name not in out:
        return
    value = out[name]
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{name} must be a whole number from {low} to {high}", details={name: ["out of range"]})


def _money_field(out: dict, name: str, label: str, *, nullable: bool) -> None:
    """An amount in minor units from 0 to ``MAX_MONEY``; out of range, the bounds are said as money
    in the store's currency (the merchant types 12.50, not 1250)."""
    if name not in out or (out[name] is None and nullable):
        return
    value = out[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MONEY:
        currency = current_currency()
        raise Invalid(f"The {label} must be from {{low}} to {{high}}", details={name: ["out of range"]},
                      amounts={"low": (0, currency), "high": (MAX_MONEY, currency)})


def _name(out: dict) -> None:
    if "name" in out:
        name = out["name"].strip() if isinstance(out["name"], str) else ""
        if not name or len(name) > 120:
            raise Invalid("A name is 1-120 characters", details={"name": ["required"]})
        out["name"] = name


def _check_zone(data: dict, zone: ShippingZone | None = None) -> dict:
    out = {k: v for k, v in data.items() if k in ZONE_FIELDS}
    _name(out)
    if "countries" in out:
        countries = out["countries"] or []
        if not isinstance(countries, list) or len(countries) > 300:
            raise Invalid("countries is a list of two-letter codes", details={"countries": ["invalid"]})
        out["countries"] = sorted({normalize_country(c, "countries") for c in countries})
    if "postal_prefixes" in out:
        prefixes = out["postal_prefixes"] or []
        if not isinstance(prefixes, list) or len(prefixes) > 1000:
            raise Invalid("postal_prefixes is a list of prefixes", details={"postal_prefixes": ["invalid"]})
        clean = set()
        for prefix in prefixes:
            value = normalize_postal(prefix) if isinstance(prefix, str) else ""
            if not value or len(value) > 16 or not value.isalnum():
                raise Invalid("A postal-code prefix is 1-16 letters or digits", details={"postal_prefixes": ["invalid"]})
            clean.add(value)
        out["postal_prefixes"] = sorted(clean)
    if "rest_of_world" in out and not isinstance(out["rest_of_world"], bool):
        raise Invalid("rest_of_world is true or false", details={"rest_of_world": ["invalid"]})
    _int_field(out, "position", -10_000, 10_000, nullable=False)
    rest = out.get("rest_of_world", zone.rest_of_world if zone else False)
    countries = out.get("countries", zone.countries if zone else [])
    prefixes = out.get("postal_prefixes", zone.postal_prefixes if zone else [])
    if rest:
        out["countries"], out["postal_prefixes"] = [], []
        other = select(ShippingZone.id).where(ShippingZone.rest_of_world.is_(True))
        if zone is not None:
            other = other.where(ShippingZone.id != zone.id)
        if db.session.scalar(other) is not None:
            raise Invalid("The store has a rest-of-the-world zone already", code="rest_of_world_exists",
                          details={"rest_of_world": ["one per store"]})
    elif not countries:
        raise Invalid("A zone names at least one country (or is the rest of the world)",
                      details={"countries": ["required"]})
    elif prefixes and not countries:
        raise Invalid("Postal-code prefixes need a country", details={"countries": ["required"]})
    return out


def create_zone(data: dict) -> ShippingZone:
    data = _check_zone(data)
    if "name" not in data:
        raise Invalid("A name is 1-120 characters", details={"name": ["required"]})
    zone = ShippingZone(**data)
    db.session.add(zone)
    db.session.flush()
    return zone


def update_zone(zone: ShippingZone, changes: dict) -> ShippingZone:
    for key, value in _check_zone(changes, zone).items():
        setattr(zone, key, value)
    db.session.flush()
    return zone


def get_zone(zone_id: str) -> ShippingZone:
    zone = db.session.scalar(select(ShippingZone).options(selectinload(ShippingZone.methods))
                             .where(ShippingZone.id == zone_id)) if zone_id else None
    if zone is None:
        raise NotFound("No such shipping zone", code="shipping_zone_not_found")
    return zone


def delete_zone(zone: ShippingZone) -> None:
    """A zone goes with its methods (orders keep their shipping line as it was)."""
    db.session.delete(zone)
    db.session.flush()


def list_zones() -> list[ShippingZone]:
    """Every zone with its methods: specific zones first, the rest of the world last."""
    return list(db.session.scalars(select(ShippingZone).options(selectinload(ShippingZone.methods))
                                   .order_by(ShippingZone.rest_of_world, ShippingZone.position,
                                             ShippingZone.created_at, ShippingZone.id)))


def _check_bands(bands) -> list[dict]:
    if not isinstance(bands, list) or len(bands) > 100:
        raise Invalid("weight_bands is a list of {up_to_grams, price}", details={"weight_bands": ["invalid"]})
    clean: dict[int, int] = {}
    for band in bands:
        grams = band.get("up_to_grams") if isinstance(band, dict) else None
        price = band.get("price") if isinstance(band, dict) else None
        if isinstance(grams, bool) or not isinstance(grams, int) or not 1 <= grams <= MAX_GRAMS:
            raise Invalid("Each band's up_to_grams is a whole number of grams above 0",
                          details={"weight_bands": ["up_to_grams invalid"]})
        if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= MAX_MONEY:
            raise Invalid("Each band's price is 0 or more", details={"weight_bands": ["price invalid"]})
        if grams in clean:
            raise Invalid(f"Two bands end at {grams} g", details={"weight_bands": ["duplicate limit"]})
        clean[grams] = price
    return [{"up_to_grams": g, "price": clean[g]} for g in sorted(clean)]


def _check_method(data: dict, method: ShippingMethod | None = None) -> dict:
    out = {k: v for k, v in data.items() if k in METHOD_FIELDS}
    _name(out)
    if "kind" in out and out["kind"] not in SHIPPING_KINDS:
        raise Invalid("kind is flat, weight or free", details={"kind": ["invalid"]})
    _money_field(out, "price", "price", nullable=False)
    _money_field(out, "free_threshold", "free-shipping threshold", nullable=True)
    _int_field(out, "min_days", 0, 365, nullable=True)
    _int_field(out, "max_days", 0, 365, nullable=True)
    _int_field(out, "position", -10_000, 10_000, nullable=False)
    if "is_active" in out and not isinstance(out["is_active"], bool):
        raise Invalid("is_active is true or false", details={"is_active": ["invalid"]})
    if "weight_bands" in out:
        out["weight_bands"] = _check_bands(out["weight_bands"] or [])
    kind = out.get("kind", method.kind if method else None)
    if kind is None:
        raise Invalid("kind is flat, weight or free", details={"kind": ["required"]})
    bands = out.get("weight_bands", method.weight_bands if method else [])
    threshold = out.get("free_threshold", method.free_threshold if method else None)
    if kind == "weight" and not bands:
        raise Invalid("A by-weight method needs at least one weight band", details={"weight_bands": ["required"]})
    if kind == "free" and threshold is None:
        raise Invalid("Free shipping needs the subtotal it starts from (0 for always)",
                      details={"free_threshold": ["required"]})
    if kind == "free":
        out["price"] = 0
    lo = out.get("min_days", method.min_days if method else None)
    hi = out.get("max_days", method.max_days if method else None)
    if lo is not None and hi is not None and hi < lo:
        raise Invalid("max_days cannot be below min_days", details={"max_days": ["below min_days"]})
    return out


def add_method(zone: ShippingZone, data: dict) -> ShippingMethod:
    data = _check_method(data)
    if "name" not in data:
        raise Invalid("A name is 1-120 characters", details={"name": ["required"]})
    method = ShippingMethod(zone_id=zone.id, **data)
    db.session.add(method)
    db.session.flush()
    db.session.expire(zone, ["methods"])
    return method


def update_method(method: ShippingMethod, changes: dict) -> ShippingMethod:
    for key, value in _check_method(changes, method).items():
        setattr(method, key, value)
    db.session.flush()
    return method


def get_method(method_id: str) -> ShippingMethod:
    method = db.session.get(ShippingMethod, method_id) if method_id else None
    if method is None:
        raise NotFound("No such shipping method", code="shipping_method_not_found")
    return method


def delete_method(method: ShippingMethod) -> None:
    db.session.delete(method)
    db.session.flush()
