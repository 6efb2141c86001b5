"""The wishlist (Seed A, the ``wishlist`` addon), under /api/wishlist: the signed-in user's saved
products, adding (idempotent), removing, checking one product, the share link, and the shared
list (public, by the link's secret). Every route passes ``web.requires_feature("wishlist")``: with
the addon off, a 403 ``feature_not_enabled`` naming it (``services/wishlist.py``)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import stores as store_service
from services import wishlist as wishlist_service
from services.pagination import paginate_list
from web import requires_feature

from .access import access, require_user
from .schemas.common import PageQuery
from .schemas.wishlist import (
    SharedWishlistOut,
    WishlistAddIn,
    WishlistAddOut,
    WishlistCheckOut,
    WishlistItemOut,
    WishlistOut,
    WishlistShareIn,
    WishlistShareOut,
)

bp = APIBlueprint("api_wishlist", __name__, url_prefix="/api/wishlist", tag="Wishlist")

GATED = {403: "The store's plan has no wishlist (`feature_not_enabled`, `details.addon` = `wishlist`)"}


def _items(rows) -> list[WishlistItemOut]:
    return [WishlistItemOut.of(item, product, g.store) for item, product in rows]


@bp.get("")
@access("user")
@requires_feature("wishlist")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(WishlistOut)
@bp.doc(responses=GATED)
def list_wishlist(query: PageQuery):
    """Your saved products, newest first, each with the catalog's price (`starting_at`, the lowest
    variant price, in major units with `currency`) and whether it is in stock. Products the shop
    no longer shows are left out."""
    return paginate_list(_items(wishlist_service.list_items(require_user())), page=query.page,
                         page_size=query.page_size)


@bp.post("")
@access("user")
@requires_feature("wishlist")
@bp.input(WishlistAddIn, arg_name="body")
@bp.output(WishlistAddOut, status_code=201)
@bp.doc(responses={**GATED, 200: "Already saved: the same row (`created` false)",
                   404: "No such product in the shop (`product_not_found`)"})
def add_to_wishlist(body: WishlistAddIn):
    """Save a product (`product_id`). Adding twice keeps one row: 201 the first time, 200 after."""
    item, created = wishlist_service.add(require_user(), body.product_id)
    product = wishlist_service.product_of(item)
    return WishlistAddOut(created=created, item=WishlistItemOut.of(item, product, g.store)), 201 if created else 200


@bp.delete("/<product_id>")
@access("user")
@requires_feature("wishlist")
@bp.output({}, status_code=204)
@bp.doc(responses=GATED)
def remove_from_wishlist(product_id: str):
    """Take a product out of your wishlist (204 whether or not it was there)."""
    wishlist_service.remove(require_user(), product_id)
    return "", 204


@bp.get("/check/<product_id>")
@access("user")
@requires_feature("wishlist")
@bp.output(WishlistCheckOut)
@bp.doc(responses=GATED)
def check_wishlist(product_id: str):
    """Whether a product is in your wishlist."""
    return WishlistCheckOut(product_id=product_id, in_wishlist=wishlist_service.contains(require_user(), product_id))


@bp.post("/share")
@access("user")
@requires_feature("wishlist")
@bp.input(WishlistShareIn, arg_name="body")
@bp.output(WishlistShareOut)
@bp.doc(responses=GATED)
def share_wishlist(body: WishlistShareIn):
    """Make your wishlist's share link: `token` and `url` (shown only now: the store keeps only a
    hash of it). Each call makes a new link and the previous one stops working. Send
    `{"revoke": true}` to delete the link instead (`shared` false); its address then answers 404."""
    user = require_user()
    if body.revoke:
        wishlist_service.revoke(user)
        return WishlistShareOut(shared=False)
    token = wishlist_service.share(user)
    url = store_service.base_url(g.store).rstrip("/") + wishlist_service.share_path(token)
    return WishlistShareOut(shared=True, token=token, url=url)


@bp.get("/shared/<token>")
@access("public")
@requires_feature("wishlist")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(SharedWishlistOut)
@bp.doc(responses={**GATED, 404: "An unknown, replaced or revoked link (`wishlist_not_found`)"})
def shared_wishlist(token: str, query: PageQuery):
    """A wishlist shared by its link (no sign-in): the owner's display name and the products, nothing
    else about them."""
    shared = wishlist_service.shared_list(token)
    return {**paginate_list(_items(shared["items"]), page=query.page, page_size=query.page_size),
            "display_name": shared["display_name"]}
