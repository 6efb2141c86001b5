"""Shipping and tax arithmetic on a table of cases: each zone type (country, postal prefix, rest of
the world), weight bands at their edges, free-shipping thresholds just below and at, tax-inclusive
and tax-exclusive prices, half-up rounding in minor units, which rule and which country tax a line."""
from __future__ import annotations

import pytest

from extensions import db
from models import Store
from services import shipping, taxes
from services import stores as store_service
from services.errors import Invalid
from tenancy import tenant_scope

# --- pure arithmetic ----------------------------------------------------------------------------

BANDS = [{"up_to_grams": 500, "price": 450}, {"up_to_grams": 2000, "price": 790}, {"up_to_grams": 10000, "price": 1500}]


@pytest.mark.parametrize("grams,price", [
    (0, 450), (1, 450), (500, 450),        # exactly at the first limit: the first band
    (501, 790), (2000, 790),               # one gram over: the next band; at its limit: still it
    (2001, 1500), (10000, 1500),
    (10001, None),                         # heavier than the last band: not offered
])
def test_weight_bands_at_their_edges(grams, price):
    assert shipping.band_price(BANDS, grams) == price
    assert shipping.band_price(list(reversed(BANDS)), grams) == price  # the order they are typed in does not matter


def _method(kind, *, price=0, bands=None, threshold=None):
    return shipping.ShippingMethod(name="m", kind=kind, price=price, weight_bands=bands or [], free_threshold=threshold)


@pytest.mark.parametrize("method,grams,subtotal,expected", [
    (_method("flat", price=499), 0, 0, 499),
    (_method("flat", price=499, threshold=5000), 100, 4999, 499),   # one cent below the threshold: pays
    (_method("flat", price=499, threshold=5000), 100, 5000, 0),     # at the threshold: free
    (_method("weight", bands=BANDS, threshold=5000), 501, 4999, 790),
    (_method("weight", bands=BANDS, threshold=5000), 501, 5000, 0),
    (_method("weight", bands=BANDS, threshold=5000), 10001, 9999, None),  # too heavy, even when free
    (_method("free", threshold=3000), 100, 2999, None),             # free shipping: not offered below
    (_method("free", threshold=3000), 100, 3000, 0),                # offered at the threshold
    (_method("free", threshold=0), 0, 0, 0),                        # always free
], ids=["flat", "flat-below", "flat-at", "weight-below", "weight-at", "weight-heavy", "free-below", "free-at",
        "free-always"])
def test_method_prices_and_free_thresholds(method, grams, subtotal, expected):
    assert shipping.method_price(method, grams, subtotal) == expected


@pytest.mark.parametrize("amount,rate,inclusive,tax,net,gross", [
    (1000, 2300, False, 230, 1000, 1230),     # 23 % on 10.00
    (1230, 2300, True, 230, 1000, 1230),      # the same price, tax inside
    (50, 1000, False, 5, 50, 55),
    (5, 1000, False, 1, 5, 6),                # 0.5 cent -> 1 cent (half up)
    (15, 1000, False, 2, 15, 17),             # 1.5 cents -> 2
    (25, 1000, False, 3, 25, 28),             # 2.5 cents -> 3 (half up, not half even)
    (4, 1000, False, 0, 4, 4),                # 0.4 cent -> 0
    (1, 5000, False, 1, 1, 2),                # 0.5 cent -> 1
    (999, 2100, False, 210, 999, 1209),       # 209.79 -> 210
    (11, 1000, True, 1, 10, 11),              # 11 x 10/110 = 1.0
    (105, 500, True, 5, 100, 105),            # 105 x 5/105 = 5.0
    (21, 2500, True, 4, 17, 21),              # 21 x 25/125 = 4.2 -> 4
    (9, 2500, True, 2, 7, 9),                 # 9 x 25/125 = 1.8 -> 2
    (5, 2500, True, 1, 4, 5),                 # 5 x 25/125 = 1.0
    (63, 2600, True, 13, 50, 63),             # 63 x 26/126 = 13.0
    (10, 600, True, 1, 9, 10),                # 10 x 6/106 = 0.566 -> 1
    (1000, 0, False, 0, 1000, 1000),
    (1000, 0, True, 0, 1000, 1000),
    (0, 2300, False, 0, 0, 0),
])
def test_tax_inclusive_and_exclusive_round_half_up(amount, rate, inclusive, tax, net, gross):
    result = taxes.apply_rate(amount, rate, inclusive=inclusive)
    assert (result.tax, result.net, result.gross) == (tax, net, gross)
    assert result.net + result.tax == result.gross


def test_a_half_cent_inclusive_case_rounds_up():
    # 3 x 2000/12000 = 0.5 exactly: half up gives 1
    assert taxes.apply_rate(3, 2000, inclusive=True).tax == 1
    assert taxes.round_half_up(taxes.Decimal("2.5")) == 3 and taxes.round_half_up(taxes.Decimal("3.5")) == 4


@pytest.mark.parametrize("kind,buyer,ship,expected", [
    ("digital", "DE", "PT", "DE"),      # digital: where the buyer is (EU VAT on digital services)
    ("physical", "DE", "PT", "PT"),     # physical: where it is shipped to
    ("digital", None, "pt", "PT"),      # buyer unknown: the address given
    ("digital", None, None, None),      # nothing known: the store's tax country then
])
def test_which_country_taxes_a_line(kind, buyer, ship, expected):
    assert taxes.tax_country_for(kind, buyer, ship) == expected


def test_a_physical_line_needs_a_shipping_country():
    with pytest.raises(Invalid) as error:
        taxes.tax_country_for("physical", "DE", None)
    assert error.value.code == "shipping_address_required"


@pytest.mark.parametrize("amounts,discount,expected", [
    ([1000, 1000], 300, [150, 150]),
    ([1000, 2000], 100, [33, 67]),
    ([1, 1, 1], 2, [1, 1, 0]),
    ([500], 900, [500]),          # never more than the lines
    ([0, 0], 100, [0, 0]),
])
def test_a_coupon_is_spread_over_lines_in_whole_units(amounts, discount, expected):
    shares = taxes.allocate_discount(amounts, discount)
    assert shares == expected and sum(shares) == min(discount, sum(amounts))


@pytest.mark.parametrize("low,high,text", [(2, 5, "2–5 days"), (1, 1, "1 day"), (None, 7, "up to 7 days"),
                                           (3, None, "from 3 days"), (None, None, "")])
def test_delivery_estimates(low, high, text):
    assert shipping.delivery_text(low, high) == text


# --- zones and rules in a store -----------------------------------------------------------------

@pytest.fixture
def scoped(app, store):
    with app.app_context(), tenant_scope(store):
        yield db.session.get(Store, store.id)


@pytest.fixture
def zones(scoped):
    lisbon = shipping.create_zone({"name": "Lisbon", "countries": ["PT"], "postal_prefixes": ["1"]})
    shipping.add_method(lisbon, {"name": "Courier", "kind": "flat", "price": 300, "min_days": 1, "max_days": 1})
    lisbon_centre = shipping.create_zone({"name": "Lisbon centre", "countries": ["pt"], "postal_prefixes": ["1100"]})
    shipping.add_method(lisbon_centre, {"name": "Bike", "kind": "flat", "price": 200})
    portugal = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
    shipping.add_method(portugal, {"name": "Post", "kind": "weight", "weight_bands": BANDS, "position": 1})
    shipping.add_method(portugal, {"name": "Free over 50", "kind": "free", "free_threshold": 5000, "position": 2})
    shipping.add_method(portugal, {"name": "Old", "kind": "flat", "price": 1, "is_active": False})
    europe = shipping.create_zone({"name": "Europe", "countries": ["ES", "FR", "DE"]})
    shipping.add_method(europe, {"name": "EU flat", "kind": "flat", "price": 990, "free_threshold": 10000})
    world = shipping.create_zone({"name": "World", "rest_of_world": True})
    shipping.add_method(world, {"name": "International", "kind": "flat", "price": 2500})
    return {z.name: z for z in (lisbon, lisbon_centre, portugal, europe, world)}


@pytest.mark.parametrize("country,postal,grams,subtotal,zone,options", [
    ("PT", "1000-001", 100, 1000, "Lisbon", [("Courier", 300)]),          # postal prefix over country-only
    ("PT", "1100-148", 100, 1000, "Lisbon centre", [("Bike", 200)]),      # the longest prefix wins
    ("PT", " 1100 148", 100, 1000, "Lisbon centre", [("Bike", 200)]),     # spaces and dashes ignored
    ("PT", "4000-001", 500, 4999, "Portugal", [("Post", 450)]),           # country-only; band edge; below free
    ("PT", "4000-001", 501, 5000, "Portugal", [("Post", 790), ("Free over 50", 0)]),  # one gram over; at free
    ("PT", None, 10001, 100, "Portugal", []),                             # too heavy for every band
    ("pt", "", 0, 0, "Portugal", [("Post", 450)]),
    ("DE", "10115", 5000, 9999, "Europe", [("EU flat", 990)]),
    ("FR", None, 5000, 10000, "Europe", [("EU flat", 0)]),                # its own free threshold
    ("US", "90210", 100, 100, "World", [("International", 2500)]),        # rest of the world
])
def test_the_most_specific_zone_answers(zones, country, postal, grams, subtotal, zone, options):
    assert shipping.zone_for(country, postal).name == zone
    found = shipping.options_for(country, postal, grams, subtotal)
    assert [(o.name, o.price) for o in found] == options
    assert all(o.zone_name == zone and o.is_free == (o.price == 0) for o in found)


def test_without_a_rest_of_world_zone_nothing_ships_elsewhere(scoped):
    shipping.create_zone({"name": "Spain", "countries": ["ES"]})
    assert shipping.zone_for("JP") is None and shipping.options_for("JP", None, 10, 10) == []


def test_the_chosen_option_is_priced_again_and_refused_when_it_no_longer_applies(zones):
    free = next(m for m in shipping.get_zone(zones["Portugal"].id).methods if m.name == "Free over 50")
    assert shipping.option_for(free.id, "PT", "4000", 100, 5000).price == 0
    with pytest.raises(Invalid) as error:
        shipping.option_for(free.id, "PT", "4000", 100, 4999)
    assert error.value.code == "shipping_method_unavailable"


def test_one_rest_of_world_zone_per_store(zones):
    with pytest.raises(Invalid) as error:
        shipping.create_zone({"name": "Elsewhere", "rest_of_world": True})
    assert error.value.code == "rest_of_world_exists"


@pytest.fixture
def rules(scoped):
    made = [
        taxes.create_rule({"name": "IVA", "country": "PT", "tax_class": "standard", "rate_bps": 2300}),
        taxes.create_rule({"name": "IVA", "country": "PT", "tax_class": "reduced", "rate_bps": 600}),
        taxes.create_rule({"name": "IVA Madeira", "country": "PT", "region": "Madeira", "rate_bps": 2200}),
        taxes.create_rule({"name": "MwSt", "country": "DE", "rate_bps": 1900}),
        taxes.create_rule({"name": "MwSt low", "country": "DE", "rate_bps": 700, "priority": -1}),
        taxes.create_rule({"name": "MwSt high", "country": "DE", "rate_bps": 2000, "priority": 5, "is_active": False}),
        taxes.create_rule({"name": "TVA", "country": "FR", "tax_class": "digital", "rate_bps": 2000}),
    ]
    return made


@pytest.mark.parametrize("tax_class,country,region,rate,name", [
    ("standard", "PT", None, 2300, "IVA"),
    ("reduced", "PT", "", 600, "IVA"),
    ("standard", "PT", "madeira", 2200, "IVA Madeira"),   # a region's rule beats the country's
    ("reduced", "PT", "Madeira", 600, "IVA"),             # ...of its own class only
    ("digital", "PT", None, 2300, "IVA"),                 # no rule for the class: the standard one
    ("standard", "DE", None, 1900, "MwSt"),               # higher priority wins; inactive rules never
    ("digital", "FR", None, 2000, "TVA"),
    ("standard", "FR", None, 0, None),                    # no rule: no tax
    ("standard", "US", None, 0, None),
])
def test_which_rule_taxes_a_line(rules, tax_class, country, region, rate, name):
    rule = taxes.rule_for(tax_class, country, region)
    assert (rule.rate_bps if rule else 0, rule.name if rule else None) == (rate, name)


@pytest.mark.parametrize("inclusive,amount,tax,net,gross", [(False, 1000, 230, 1000, 1230), (True, 1230, 230, 1000, 1230)])
def test_calculate_follows_the_store_setting(rules, scoped, inclusive, amount, tax, net, gross):
    store_service.update_settings(scoped, {"prices_include_tax": inclusive})
    result = taxes.calculate("standard", "pt", amount, store=scoped)
    assert (result.tax, result.net, result.gross, result.inclusive, result.country) == (tax, net, gross, inclusive, "PT")
    assert taxes.tax_for("standard", "PT", None, amount, inclusive) == tax


def test_a_mixed_cart_is_taxed_per_country_and_rule(rules, scoped):
    lines = [taxes.TaxableLine(amount=1000, kind="digital"),                        # buyer in DE: 19 %
             taxes.TaxableLine(amount=2000, kind="physical"),                       # shipped to PT: 23 %
             taxes.TaxableLine(amount=500, kind="physical", tax_class="reduced")]   # PT reduced: 6 %
    result = taxes.cart_tax(lines, buyer_country="DE", shipping_country="PT", shipping_amount=450, store=scoped)
    assert [(t.label, t.base, t.amount) for t in result.lines] == [
        ("MwSt 19% (DE)", 1000, 190), ("IVA 23% (PT)", 2450, 564), ("IVA 6% (PT)", 500, 30)]  # 563.5 -> 564
    assert (result.total, result.added, result.inclusive) == (784, 784, False)
    store_service.update_settings(scoped, {"prices_include_tax": True})
    inclusive = taxes.cart_tax(lines, buyer_country="DE", shipping_country="PT", store=scoped)
    assert [t.amount for t in inclusive.lines] == [160, 374, 28] and inclusive.added == 0


def test_an_unknown_buyer_country_falls_back_to_the_store_tax_country(rules, scoped):
    lines = [taxes.TaxableLine(amount=1000, kind="digital")]
    assert taxes.cart_tax(lines, buyer_country=None, store=scoped).total == 0
    store_service.update_settings(scoped, {"tax_country": "pt"})
    assert store_service.settings_of(scoped).tax_country == "PT"
    assert taxes.cart_tax(lines, buyer_country=None, store=scoped).total == 230
