"""Shipping (Seed A "Shipping"): zones and methods for admins; anyone asks what shipping costs.

A zone is a set of countries, optionally narrowed to postal-code prefixes, or the rest of the
world; the most specific zone that takes a destination answers. Its methods: a flat rate, a
price by weight bands, or free shipping from a subtotal (any method may turn free from its
``free_threshold``). The rules: ``services/shipping.py``.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import shipping as shipping_service
from services.pagination import paginate_list
from services.taxes import normalize_country

from .access import access
from .schemas.common import PageQuery, money_in
from .schemas.shipping import (
    CalculateIn,
    CalculateOut,
    CalculateQuery,
    MethodIn,
    MethodOut,
    MethodUpdateIn,
    OptionOut,
    ZoneIn,
    ZoneList,
    ZoneOut,
    ZoneRef,
    ZoneUpdateIn,
)

bp = APIBlueprint("api_shipping", __name__, url_prefix="/api/shipping", tag="Shipping")


def _zone_out(zone_id: str) -> ZoneOut:
    return ZoneOut.of(shipping_service.get_zone(zone_id), g.store.currency)


@bp.get("/zones")
@access("admin")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(ZoneList)
def list_zones(query: PageQuery):
    """Every shipping zone with its methods, a page of them: specific zones first, the rest of the
    world last."""
    zones = [ZoneOut.of(z, g.store.currency) for z in shipping_service.list_zones()]
    return paginate_list(zones, page=query.page, page_size=query.page_size)


@bp.post("/zones")
@access("admin")
@bp.input(ZoneIn, arg_name="body")
@bp.output(ZoneOut, status_code=201)
@bp.doc(responses={422: "Invalid fields, or a second rest-of-the-world zone (`rest_of_world_exists`)"})
def create_zone(body: ZoneIn):
    """Create a zone: `name`, `countries` (two-letter codes), optional `postal_prefixes`, or
    `rest_of_world: true` (one per store; it takes every destination no other zone takes)."""
    zone = shipping_service.create_zone(body.to_service())
    return _zone_out(zone.id)


@bp.put("/zones/<zone_id>")
@access("admin")
@bp.input(ZoneUpdateIn, arg_name="body")
@bp.output(ZoneOut)
@bp.doc(responses={404: "No such zone", 422: "Invalid fields"})
def update_zone(zone_id: str, body: ZoneUpdateIn):
    """Update a zone: only the fields sent change."""
    shipping_service.update_zone(shipping_service.get_zone(zone_id), body.to_service())
    return _zone_out(zone_id)


@bp.delete("/zones/<zone_id>")
@access("admin")
@bp.output({}, status_code=204)
def delete_zone(zone_id: str):
    """Delete a zone and its methods. Orders keep their shipping line."""
    shipping_service.delete_zone(shipping_service.get_zone(zone_id))
    return ""


@bp.post("/zones/<zone_id>/methods")
@access("admin")
@bp.input(MethodIn, arg_name="body")
@bp.output(MethodOut, status_code=201)
@bp.doc(responses={404: "No such zone", 422: "Invalid fields"})
def add_method(zone_id: str, body: MethodIn):
    """Add a method to a zone: `name`, `kind` (`flat` with `price`; `weight` with `weight_bands`
    `[{up_to_grams, price}]`; `free` with `free_threshold`), optional `free_threshold` (free from that
    subtotal), `min_days`/`max_days` (the delivery estimate), `is_active`, `position`."""
    zone = shipping_service.get_zone(zone_id)
    method = shipping_service.add_method(zone, body.to_service(g.store.currency))
    return MethodOut.of(method, g.store.currency)


@bp.put("/methods/<method_id>")
@access("admin")
@bp.input(MethodUpdateIn, arg_name="body")
@bp.output(MethodOut)
@bp.doc(responses={404: "No such method", 422: "Invalid fields"})
def update_method(method_id: str, body: MethodUpdateIn):
    """Update a method: only the fields sent change (`null` clears `free_threshold` or a day count)."""
    method = shipping_service.update_method(shipping_service.get_method(method_id),
                                            body.to_service(g.store.currency))
    return MethodOut.of(method, g.store.currency)


@bp.delete("/methods/<method_id>")
@access("admin")
@bp.output({}, status_code=204)
def delete_method(method_id: str):
    """Delete a method."""
    shipping_service.delete_method(shipping_service.get_method(method_id))
    return ""


def _calculate(country: str, postal_code: str | None, weight: int, subtotal_major) -> CalculateOut:
    currency = g.store.currency
    subtotal = money_in(subtotal_major, currency, "subtotal") or 0
    country = normalize_country(country)
    zone = shipping_service.zone_for(country, postal_code)
    options = shipping_service.options_for(country, postal_code, weight, subtotal)
    return CalculateOut(country=country, postal_code=postal_code, weight=weight,
                        subtotal=float(subtotal_major), currency=currency,
                        zone=ZoneRef(id=zone.id, name=zone.name) if zone else None,
                        options=[OptionOut.of(o, currency) for o in options])


@bp.get("/calculate")
@access("public")
@bp.input(CalculateQuery, location="query", arg_name="query")
@bp.output(CalculateOut)
def calculate_get(query: CalculateQuery):
    """The shipping options for a destination, weight and subtotal:
    `?country=PT&postal_code=1000-001&weight=750&total=42.50` (weight in grams, total in major
    units). `options` is empty when nothing ships there."""
    return _calculate(query.country, query.postal_code, query.weight, query.total)


@bp.post("/calculate")
@access("public")
@bp.input(CalculateIn, arg_name="body")
@bp.output(CalculateOut)
def calculate_post(body: CalculateIn):
    """The same as the GET, from a body: `{country, postcode, weight, subtotal}`."""
    return _calculate(body.country, body.postcode, body.weight, body.subtotal)
