"""Taxes (Seed A "Taxes"): rules for admins; anyone asks what tax an amount carries.

A rule is a rate for a country (and optional region) and a tax class, with a priority. Prices
are entered tax-inclusive or tax-exclusive per store setting (``prices_include_tax``). Tax is
rounded half-up in minor units. The rules: ``services/taxes.py``.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import taxes as tax_service
from services.money import to_major
from services.pagination import paginate_list

from .access import access
from .schemas.common import money_in
from .schemas.taxes import (
    TaxCalculateIn,
    TaxCalculateOut,
    TaxRuleIn,
    TaxRuleList,
    TaxRuleOut,
    TaxRuleQuery,
    TaxRuleRef,
    TaxRuleUpdateIn,
    rate_percent,
)

bp = APIBlueprint("api_taxes", __name__, url_prefix="/api/taxes", tag="Taxes")


@bp.get("")
@access("admin")
@bp.input(TaxRuleQuery, location="query", arg_name="query")
@bp.output(TaxRuleList)
def list_rules(query: TaxRuleQuery):
    """The store's tax rules, a page of them (filters: `country`, `tax_class`), and whether its
    prices include tax."""
    rules = [TaxRuleOut.of(r) for r in tax_service.list_rules(country=query.country, tax_class=query.tax_class)]
    return {**paginate_list(rules, page=query.page, page_size=query.page_size),
            "prices_include_tax": tax_service.prices_include_tax(g.store)}


@bp.post("")
@access("admin")
@bp.input(TaxRuleIn, arg_name="body")
@bp.output(TaxRuleOut, status_code=201)
@bp.doc(responses={422: "Invalid fields"})
def create_rule(body: TaxRuleIn):
    """Create a rule: `country`, `rate` (a percentage), optional `name` ("Tax"), `region` (empty:
    the whole country), `tax_class` (standard), `priority` (0), `is_active`."""
    return TaxRuleOut.of(tax_service.create_rule(body.to_service()))


@bp.put("/<tax_id>")
@access("admin")
@bp.input(TaxRuleUpdateIn, arg_name="body")
@bp.output(TaxRuleOut)
@bp.doc(responses={404: "No such rule", 422: "Invalid fields"})
def update_rule(tax_id: str, body: TaxRuleUpdateIn):
    """Update a rule: only the fields sent change."""
    return TaxRuleOut.of(tax_service.update_rule(tax_service.get_rule(tax_id), body.to_service()))


@bp.delete("/<tax_id>")
@access("admin")
@bp.output({}, status_code=204)
def delete_rule(tax_id: str):
    """Delete a rule. Orders keep their tax lines."""
    tax_service.delete_rule(tax_service.get_rule(tax_id))
    return ""


@bp.post("/calculate")
@access("public")
@bp.input(TaxCalculateIn, arg_name="body")
@bp.output(TaxCalculateOut)
def calculate(body: TaxCalculateIn):
    """The tax on an amount: `{tax_class, country, amount, region?, inclusive?}` (amount in major
    units; `inclusive` defaults to the store's setting). Answers the rule applied, its rate, the
    tax, and the net and gross amounts; no rule is no tax."""
    currency = g.store.currency
    country = tax_service.normalize_country(body.country)
    tax_class = tax_service.normalize_class(body.tax_class)
    amount = money_in(body.amount, currency, "amount")
    result = tax_service.calculate(tax_class, country, amount, region=body.region, inclusive=body.inclusive,
                                   store=g.store)
    rule = result.rule
    return TaxCalculateOut(
        tax_class=tax_class, country=country, region=body.region, amount=to_major(amount, currency),
        currency=currency, inclusive=result.inclusive, rate=rate_percent(result.rate_bps), rate_bps=result.rate_bps,
        tax=to_major(result.tax, currency), net=to_major(result.net, currency), gross=to_major(result.gross, currency),
        rule=TaxRuleRef(id=rule.id, name=rule.name, country=rule.country, region=rule.region,
                        tax_class=rule.tax_class) if rule else None)
