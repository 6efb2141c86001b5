"""The JSON API under /api: one module per resource, one error shape, one OpenAPI document."""
from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.exceptions import UnsupportedMediaType

from . import (
    account,
    addresses,
    audit,
    auth,
    balance,
    branding,
    campaigns,
    cart,
    categories,
    coupons,
    customers,
    dashboard,
    docs,
    errors,
    migration,
    moloni,
    orders,
    pages,
    payments,
    plans,
    preferences,
    products,
    public,
    replacements,
    reports,
    reviews,
    settings,
    shipping,
    stock,
    storefront,
    sysadmin,
    tags_attributes,
    taxes,
    themes,
    users,
    variants,
    webhooks,
    wishlist,
)

BLUEPRINTS = [auth.bp, balance.bp, public.bp, products.bp, variants.bp, categories.bp, tags_attributes.bp, storefront.bp,
              cart.bp, orders.bp, payments.bp, webhooks.bp, replacements.bp, dashboard.bp, dashboard.admin_bp, reports.bp, coupons.bp, customers.bp, users.bp, account.bp, reviews.bp, stock.bp, docs.bp]
BLUEPRINTS.insert(-1, settings.bp)
BLUEPRINTS.insert(-1, themes.bp)
BLUEPRINTS.insert(-1, branding.bp)
BLUEPRINTS.insert(-1, pages.bp)
BLUEPRINTS[-1:-1] = [campaigns.bp, preferences.bp]
BLUEPRINTS.insert(-1, audit.bp)
BLUEPRINTS[-1:-1] = [plans.bp, sysadmin.bp]
BLUEPRINTS.insert(-1, wishlist.bp)
BLUEPRINTS[-1:-1] = [shipping.bp, taxes.bp]
BLUEPRINTS.insert(-1, addresses.bp)
BLUEPRINTS.insert(-1, moloni.bp)
BLUEPRINTS.insert(-1, migration.bp)
JSON_TYPES = ("application/json",)


def _check_body() -> None:
    """Bodies are JSON (415 otherwise); views that take uploads set ``_accepts_multipart``."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or request.routing_exception is not None:
        return  # (a wrong method or path answers 405/404, whatever the body)
    has_body = bool(request.content_length) or bool(request.headers.get("Transfer-Encoding"))
    if not has_body:
        return
    mimetype = request.mimetype or ""
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_accepts_multipart", False) and mimetype in ("multipart/form-data",):
        return
    raise UnsupportedMediaType("Send the body as JSON (Content-Type: application/json)")


def register_api(app: Flask) -> None:
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    errors.document_errors(app)

    @app.before_request
    def _api_body_check():
        if request.path.startswith("/api/"):
            _check_body()

