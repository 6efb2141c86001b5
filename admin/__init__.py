"""Staff, admin and sysadmin dashboards."""
from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_login import current_user

from services.errors import Unavailable
from services.stores import base_url

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.enable_openapi = False  # (APIFlask reads it on any blueprint with a before_request)


@bp.before_request
def _platform_and_suspension():
    """A sysadmin's /admin/ is the platform's area unless they act as a store; a suspended store's
    staff see why instead of their dashboard (its shop and API answer 503)."""
    if not current_user.is_authenticated:
        return None
    if current_user.role == "SYSADMIN" and current_user.store_id is None:
        if request.endpoint == "admin.overview" and not g.get("acting"):
            return redirect(url_for("sysadmin.dashboard"))
        return None
    store = g.get("store")
    if store is not None and store.status == "suspended":
        return render_template("admin/suspended.html"), 503, Unavailable("").response_headers()
    return None


@bp.context_processor
def _shop_link():
    """The dashboard's "View shop": this host's shop, but the store's own address while a sysadmin
    acts as it (the platform host's shop is the default store, not the one being administered)."""
    store = g.get("store")
    if g.get("acting") and store is not None:
        return {"shop_link": base_url(store) + "/"}
    return {"shop_link": url_for("storefront.home")}

from . import (  # noqa: E402,F401
    analytics,
    audit,
    blacklist,
    campaigns,
    categories,
    coupons,
    dashboard,
    imports,
    integrations,
    migrations,
    orders,
    payments,
    products,
    replacements,
    reviews,
    shipping,
    stock,
    taxes,
    users,
)
from . import appearance as appearance_pages  # noqa: E402,F401
from . import pages as cms_pages  # noqa: E402,F401
from . import settings as settings_pages  # noqa: E402,F401
from .sysadmin import sysadmin_bp  # noqa: E402,F401
