"""Schemathesis over the whole OpenAPI document (issue 8, "Keep it fixed").

Every operation of the document gets its own test, run on SQLite and on PostgreSQL, as a guest and
as an ADMIN of the store: schemathesis generates requests from the document (valid and invalid
ones, plus its boundary "coverage" cases), sends them to the app in-process (WSGI) and checks that

- no answer is a 5xx (``not_a_server_error``; an exception that escapes the app fails the test too),
- every answer has a documented status (``status_code_conformance``),
- every answer matches its documented schema, errors included (``response_schema_conformance``).

Each test starts from a small shop (``world``: categories, a tag, an attribute, a digital and a
physical product with stock, a coupon, a paid gift order and a pending order, carts). Every generated
request runs in a savepoint of the test's transaction (``conftest._transaction``) that is rolled
back after it: each request sees the same shop and nothing is left behind. Path parameters and
the id fields of bodies are sometimes swapped for the ids of that shop, so requests reach past
"not found" into the services. Each request comes from an IP address of its own, so the sign-in
rate limits never answer for the code behind them (their 429 is documented all the same).

Run it alone: ``pytest tests/api/test_fuzz_openapi.py`` (``-k sqlite``, ``-k "POST /api/products"``).
Examples are bounded (``MAX_EXAMPLES`` per operation and caller, derandomized, no example database)
so every run sends the same requests.
"""
from __future__ import annotations

import json
import random
import tempfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance
from sqlalchemy import select

from models import CartItem, StockItem, User, Variant
from services import balance, cart, categories, checkout, coupons, orders, shipping, stock, tags_attributes
from services import products as product_service
from tests.conftest import base_config, make_app, next_ip
from tests.payments import enable_methods, save_hoodpay_keys

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = 10
GUEST_SESSION = "fuzz-guest"


def served_document() -> dict:
    """The OpenAPI document, built from the code as /api/openapi.json serves it (no database needed)."""
    with tempfile.TemporaryDirectory(prefix="openapi-") as tmp:
        app = make_app(base_config(Path(tmp), "sqlite://"))
        with app.app_context():
            return app.spec


DOCUMENT = served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_fuzz_runs_over_the_document_the_app_serves(client, store):
    served = client.get("/api/openapi.json").get_json()
    served.pop("servers")  # the address of the request
    assert served == json.loads(json.dumps(DOCUMENT))


# --- who calls, and what they can name ---------------------------------------------------------

@pytest.fixture(params=["guest", "admin"])
def caller(request, make, store) -> SimpleNamespace:
    """A guest (no token; a guest cart by X-Session-ID, sometimes) or an ADMIN of the store (a bearer token)."""
    if request.param == "guest":
        return SimpleNamespace(user=None, headers={})
    admin = make.user(store, role="ADMIN", username="fuzz-admin")
    return SimpleNamespace(user=admin, headers=make.headers(admin, store))


@pytest.fixture
def world(app, store, make, caller, stripe_platform, hoodpay_api) -> dict[str, list[str]]:
    """A small shop in the test's transaction, taking cards and crypto (at the fake Stripe and
    Hoodpay, so the payment endpoints reach past "not configured" into the providers' code);
    answers the ids of each kind of thing in it."""
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "STRIPE", "HOODPAY")
    actor = caller.user or make.user(store, role="ADMIN", username="fuzz-actor")
    buyer = make.user(store, username="fuzz-buyer", email="fuzz-buyer@example.com")
    with make.scope(store) as session:
        balance.credit(buyer.id, 10_000, "topup", reason="fuzz")
        parent = categories.create_category(title="Gift Cards", hex_code="#FF5733")
        child = categories.create_category(title="Steam", parent_id=parent.id)
        tag = tags_attributes.create_tag("Sale")
        attribute = tags_attributes.create_attribute("Region", ["EU", "US"])
        digital = product_service.create_product({"title": "Steam Card", "category_id": child.id, "tag_ids": [tag.id],
                                                  "variants": [{"title": "10 EUR", "price": 1000, "max_quantity": 4}]})
        physical = product_service.create_product({"title": "T-Shirt", "kind": "physical", "variants": [
            {"title": "M", "price": 2500, "stock_count": 5}]})
        code_variant = session.scalar(select(Variant).where(Variant.product_id == digital.id))
        shirt = session.scalar(select(Variant).where(Variant.product_id == physical.id))
        stock.import_stock(code_variant, "\n".join(f"CODE-{i}" for i in range(8)))
        coupon = coupons.create_coupon({"code": "FUZZ10", "kind": "percent", "value": 1000})
        buyer_row, actor_row = session.get(User, buyer.id), session.get(User, actor.id)
        gift = orders.gift(buyer_row, code_variant, 1, actor=actor_row)
        buyer_cart = cart.cart_for(user=buyer_row, guest_key=None, create=True)
        cart.add_item(buyer_cart, shirt.id, 1)
        zone = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
        method = shipping.add_method(zone, {"name": "Post", "kind": "flat", "price": 390})
        pending = checkout.place_order(store, buyer_cart, buyer=buyer_row, method="MANUAL", delivery=checkout.Delivery(
            shipping_address={"name": "Ana", "line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048",
                              "country": "PT"}, method_id=method.id)).order
        guest_cart = cart.cart_for(user=None, guest_key=f"s:{GUEST_SESSION}", create=True)
        cart.add_item(guest_cart, code_variant.id, 1)
        if caller.user is not None:
            cart.add_item(cart.cart_for(user=session.get(User, caller.user.id), guest_key=None, create=True), shirt.id, 1)
        session.flush()
        return {
            "product": [digital.id, physical.id, digital.slug],
            "product_slug": [digital.slug, physical.slug],
            "variant": [code_variant.id, shirt.id],
            "category": [parent.id, child.id],
            "category_slug": [parent.slug, child.slug],
            "tag": [tag.id],
            "attribute": [attribute.id],
            "coupon": [coupon.id],
            "coupon_code": [coupon.code],
            "order": [gift.id, pending.id],
            "order_number": [str(gift.order_number), f"#{pending.order_number}"],
            "user": [buyer.id],
            "payment_method": ["BALANCE", "MANUAL", "STRIPE", "HOODPAY"],
            "stock_item": list(session.scalars(select(StockItem.id).order_by(StockItem.id).limit(3))),
            "cart_item": list(session.scalars(select(CartItem.id).order_by(CartItem.id))),
        }


# What a path parameter or a body field names (api/*.py, api/schemas/*.py).
NAMES = {
    "key": "product", "product_id": "product", "productId": "product",
    "variant_id": "variant", "subcategory_id": "variant", "subcategoryId": "variant",
    "category_id": "category", "parent_id": "category", "tag_id": "tag", "attribute_id": "attribute",
    "coupon_id": "coupon", "code": "coupon_code", "order_id": "order", "order_number": "order_number",
    "user_id": "user", "userId": "user", "payment_method": "payment_method",
}


def kind_of(name: str, path: str) -> str | None:
    if name == "slug":
        return "product_slug" if "/products/" in path else "category_slug"
    if name == "item_id":
        return "cart_item" if "/cart/" in path else "stock_item"
    return NAMES.get(name)


def name_real_things(case, world: dict[str, list[str]], rng: random.Random) -> None:
    """Now and then, swap a generated id for one of the shop's."""
    for name, value in sorted((case.path_parameters or {}).items()):
        known = world.get(kind_of(name, case.path) or "", [])
        if known:
            case.path_parameters[name] = rng.choice([value, *known])
    if isinstance(case.body, dict):
        for name in sorted(case.body):
            known = world.get(kind_of(name, case.path) or "", [])
            if known and isinstance(case.body[name], str | None):
                case.body[name] = rng.choice([case.body[name], *known])


# --- the fuzz ---------------------------------------------------------------------------------------

@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case, app, caller, world, _transaction):
    # Choices that follow from the generated request alone, so a run (and a shrunk failure) repeats.
    # (Drawing them with @schema.given would turn off schemathesis' coverage phase.)
    rng = random.Random(zlib.crc32(repr((case.path, case.path_parameters, case.query, case.body)).encode()))
    headers = dict(caller.headers)
    if caller.user is None and rng.random() < 0.5:
        headers["X-Session-ID"] = GUEST_SESSION
    name_real_things(case, world, rng)
    savepoint = _transaction.begin_nested()
    try:
        case.call_and_validate(app=app, headers=headers, checks=CHECKS, environ_base={"REMOTE_ADDR": next_ip()})
    finally:
        savepoint.rollback()
