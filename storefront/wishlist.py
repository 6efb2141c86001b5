"""The wishlist pages (the ``wishlist`` addon): the heart on product cards and pages (a form POST,
swapped in place by htmx), the account's Wishlist tab (remove, share link, revoke) and the public
shared list. Every view passes ``web.requires_feature("wishlist")``: with the addon off, the
shop's "not available" page (app.py) instead of the page."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from models import Role
from services import stores as store_service
from services import wishlist as wishlist_service
from services.errors import DomainError
from web import db_savepoint, requires_feature, role_required, wants_fragment

from . import bp


def _back(default: str) -> str:
    """Where a form posted without htmx returns to: its ``next`` field when it is a path of ours."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


def pending_save():
    """The product a guest's heart asked to save (the sign-in page's ``save``), or None."""
    return (request.args.get("save") or "").strip()[:64] or None


def save_after_sign_in(user) -> None:
    """A guest clicked a heart and was sent to sign in (or register) with ``save``: save that
    product now that they have. One no longer in the shop, or a store without the wishlist, saves
    nothing and says so; the sign-in itself always stands."""
    product_id = pending_save()
    if product_id is None:
        return
    try:
        with db_savepoint():
            wishlist_service.add(user, product_id)
            title = wishlist_service.product_of_id(product_id).title
    except DomainError:
        flash("The product you chose could not be saved to your wishlist: it is no longer in the shop.", "info")
        return
    flash(f"Saved “{title}” to your wishlist.", "success")


@bp.post("/wishlist/toggle/<product_id>")
@role_required(Role.USER)
@requires_feature("wishlist")
def wishlist_toggle(product_id: str):
    saved = wishlist_service.toggle(current_user, product_id)
    product = wishlist_service.product_of_id(product_id)
    if wants_fragment():
        return render_template("storefront/wishlist/_heart.html", hp=product, saved=saved)
    flash(f"Saved “{product.title}” to your wishlist." if saved else f"Removed “{product.title}” from your wishlist.",
          "success")
    return redirect(_back(url_for("storefront.product", slug=product.slug)))


def _account_page(new_link: str | None = None):
    return render_template("storefront/account/wishlist.html", items=wishlist_service.list_items(current_user),
                           share=wishlist_service.share_of(current_user), new_link=new_link)


@bp.get("/account/wishlist")
@role_required(Role.USER)
@requires_feature("wishlist")
def account_wishlist():
    return _account_page()


@bp.post("/account/wishlist/<product_id>/remove")
@role_required(Role.USER)
@requires_feature("wishlist")
def account_wishlist_remove(product_id: str):
    if wishlist_service.remove(current_user, product_id):
        flash("Removed from your wishlist.", "success")
    return redirect(url_for("storefront.account_wishlist"))


@bp.post("/account/wishlist/share")
@role_required(Role.USER)
@requires_feature("wishlist")
def account_wishlist_share():
    """A new link, shown on this answer only (the store keeps just its hash)."""
    token = wishlist_service.share(current_user)
    return _account_page(new_link=store_service.base_url(g.store).rstrip("/") + wishlist_service.share_path(token))


@bp.post("/account/wishlist/revoke")
@role_required(Role.USER)
@requires_feature("wishlist")
def account_wishlist_revoke():
    if wishlist_service.revoke(current_user):
        flash("Your share link is revoked: it no longer opens your wishlist.", "success")
    return redirect(url_for("storefront.account_wishlist"))


@bp.get("/wishlist/shared/<token>")
@requires_feature("wishlist")
def shared_wishlist(token: str):
    shared = wishlist_service.shared_list(token)
    return render_template("storefront/wishlist/shared.html", **shared)
