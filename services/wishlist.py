"""The wishlist (Seed A, the ``wishlist`` addon): a signed-in shopper's saved products and the one
secret link that shows them to anyone who has it.

* Every shopper-facing function passes ``plans.require_feature(store, "wishlist")`` first (403
  ``feature_not_enabled`` naming the addon); the API and pages also carry ``web.requires_feature``.
  Erasing (``erase_for``) and the data export (``export_for``) are not gated: personal data goes,
  and is given back, whatever the plan.
* **Adding is idempotent**: one row per (user, product), held by the unique constraint. The insert
  runs in a savepoint; a concurrent request that inserted the same pair first makes ours fail with an
  IntegrityError, the savepoint rolls back and the row that won is returned (on PostgreSQL the
  second INSERT waits on the unique index until the first commits; on SQLite writers are serialised
  by ``BEGIN IMMEDIATE``). ``tests/concurrency/test_wishlist_races.py``.
* **The share link** is ``/wishlist/shared/<token>`` with 32 random bytes; only the SHA-256 is kept
  (``crypto.token_hash``, like a guest's order link), so the link is shown once, when made. A user
  has at most one: sharing again replaces it (the old link stops working), revoking deletes it. The
  shared page shows the owner's username (the display name) and the products, nothing else.
* The price shown is the catalog's own (``Product.starting_at``, the lowest active variant price),
  "in stock" the catalog's ``stock_total > 0``; a product no longer shown in the shop (disabled or
  deleted) is left out of every list, its row kept until the product is purged.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from extensions import db
from models import Product, Store, User, WishlistItem, WishlistShare
from tenancy import current_store_id

from . import crypto, plans
from .errors import NotFound
from .variants import visible_product_filters

FEATURE = "wishlist"


@dataclass
class Hearts:
    """What a product grid needs to draw its hearts: whether the store has the wishlist, and which
    of the shown products the signed-in user saved."""

    on: bool = False
    saved: set[str] = field(default_factory=set)


# --- the gate ---------------------------------------------------------------------------------

def _store() -> Store | None:
    store_id = current_store_id()
    return db.session.get(Store, store_id) if store_id else None


def require_enabled() -> None:
    """403 ``feature_not_enabled`` unless the bound store has the wishlist (``plans.require_feature``)."""
    plans.require_feature(_store(), FEATURE)


def enabled(store: Store | None) -> bool:
    return plans.has_feature(store, FEATURE)


def grid_columns(store: Store, user: User | None) -> tuple:
    """Two columns a product grid's query adds (so its hearts cost no query of their own): the
    store has the wishlist (the plans rule as SQL), and the row's product is in ``user``'s list."""
    saved = (exists().where(WishlistItem.user_id == user.id, WishlistItem.product_id == Product.id)
             if user is not None else false())
    return plans.feature_clause(store, FEATURE).label("wishlist_on"), saved.label("wishlisted")


# --- reading ----------------------------------------------------------------------------------

def _visible_product(product_id: str) -> Product:
    product = db.session.scalar(select(Product).where(Product.id == product_id, *visible_product_filters()))
    if product is None:
        raise NotFound("No such product", code="product_not_found")
    return product


def _items(owner_id: str) -> list[tuple[WishlistItem, Product]]:
    rows = db.session.execute(
        select(WishlistItem, Product).join(Product, Product.id == WishlistItem.product_id)
        .options(joinedload(Product.category))
        .where(WishlistItem.user_id == owner_id, *visible_product_filters())
        .order_by(WishlistItem.created_at.desc(), WishlistItem.id))
    return [(item, product) for item, product in rows]


def list_items(user: User) -> list[tuple[WishlistItem, Product]]:
    """The user's saved products still shown in the shop, newest first (one query)."""
    require_enabled()
    return _items(user.id)


def contains(user: User, product_id: str) -> bool:
    """Whether the product is in the user's list as ``list_items`` shows it: a saved product no
    longer shown in the shop (disabled, deleted) is not."""
    require_enabled()
    return bool(db.session.scalar(select(exists().where(
        WishlistItem.user_id == user.id, WishlistItem.product_id == product_id,
        Product.id == WishlistItem.product_id, *visible_product_filters()))))


def saved_ids(user: User | None, product_ids: list[str]) -> set[str]:
    """Which of ``product_ids`` the user saved (one query; none for a guest or an empty list)."""
    if user is None or not product_ids:
        return set()
    return set(db.session.scalars(select(WishlistItem.product_id).where(
        WishlistItem.user_id == user.id, WishlistItem.product_id.in_(product_ids))))


# --- changing ---------------------------------------------------------------------------------

def _find(user_id: str, product_id: str) -> WishlistItem | None:
    return db.session.scalar(select(WishlistItem).where(WishlistItem.user_id == user_id,
                                                        WishlistItem.product_id == product_id))


def add(user: User, product_id: str) -> tuple[WishlistItem, bool]:
    """Save a product shown in the shop (404 ``product_not_found`` otherwise). Idempotent, also
    under concurrent requests: returns (the row, whether this call created it)."""
    require_enabled()
    product = _visible_product(product_id)
    existing = _find(user.id, product.id)
    if existing is not None:
        return existing, False
    try:
        with db.session.begin_nested():
            item = WishlistItem(user_id=user.id, product_id=product.id)
            db.session.add(item)
            db.session.flush()
    except IntegrityError:  # a concurrent request saved the same product first
        winner = _find(user.id, product.id)
        if winner is None:
            raise
        return winner, False
    return item, True


def remove(user: User, product_id: str) -> bool:
    """Take a product out of the list; whether it was there (removing twice is not an error)."""
    require_enabled()
    result = db.session.execute(delete(WishlistItem).where(WishlistItem.user_id == user.id,
                                                           WishlistItem.product_id == product_id)
                                .execution_options(synchronize_session=False))
    return bool(result.rowcount)


def toggle(user: User, product_id: str) -> bool:
    """The heart: save it if not saved, else remove it. Returns whether it is saved now."""
    if remove(user, product_id):
        return False
    add(user, product_id)
    return True


# --- the share link ---------------------------------------------------------------------------

def share_of(user: User) -> WishlistShare | None:
    """The user's live share link row (its secret is not stored: only shown when made)."""
    require_enabled()
    return db.session.scalar(select(WishlistShare).where(WishlistShare.user_id == user.id))


def share(user: User) -> str:
    """Make a new share link and return its secret; a link made before stops working."""
    require_enabled()
    token = secrets.token_urlsafe(32)
    row = db.session.scalar(select(WishlistShare).where(WishlistShare.user_id == user.id).with_for_update())
    if row is not None:
        row.token_hash = crypto.token_hash(token)
        db.session.flush()
        return token
    try:
        with db.session.begin_nested():
            db.session.add(WishlistShare(user_id=user.id, token_hash=crypto.token_hash(token)))
            db.session.flush()
    except IntegrityError:  # a concurrent share made the row first: replace its secret
        row = db.session.scalar(select(WishlistShare).where(WishlistShare.user_id == user.id).with_for_update())
        row.token_hash = crypto.token_hash(token)
        db.session.flush()
    return token


def revoke(user: User) -> bool:
    """Delete the user's share link (its address answers 404 from now on); whether there was one."""
    require_enabled()
    result = db.session.execute(delete(WishlistShare).where(WishlistShare.user_id == user.id)
                                .execution_options(synchronize_session=False))
    return bool(result.rowcount)


def share_path(token: str) -> str:
    return f"/wishlist/shared/{token}"


def shared_list(token: str) -> dict:
    """The list behind a share link: ``{"display_name", "items": [(item, product)]}``. An unknown,
    replaced or revoked link, or one of an account that is gone or disabled, is a 404
    ``wishlist_not_found``."""
    require_enabled()
    refused = NotFound("This wishlist link is not valid (it may have been replaced or revoked)",
                       code="wishlist_not_found")
    if not token or len(token) > 200:
        raise refused
    owner = db.session.scalar(select(User).join(WishlistShare, WishlistShare.user_id == User.id)
                              .where(WishlistShare.token_hash == crypto.token_hash(token)))
    if owner is None or not owner.is_active or owner.erased_at is not None:
        raise refused
    return {"display_name": owner.username, "items": _items(owner.id)}


# --- personal data ----------------------------------------------------------------------------

def export_for(user: User) -> list[dict]:
    """The user's wishlist data for the data export (not gated): every saved product, shown in the
    shop or not, and whether a share link exists (its secret is not stored, so it is not exported)."""
    rows = db.session.execute(
        select(WishlistItem, Product.title, Product.slug).join(Product, Product.id == WishlistItem.product_id)
        .where(WishlistItem.user_id == user.id).order_by(WishlistItem.created_at))
    out = [{"type": "wishlist_item", "product_id": item.product_id, "product_title": title,
            "product_slug": slug, "added_at": item.created_at.isoformat()} for item, title, slug in rows]
    link = db.session.scalar(select(WishlistShare).where(WishlistShare.user_id == user.id))
    if link is not None:
        out.append({"type": "wishlist_share_link", "created_at": link.created_at.isoformat()})
    return out


def erase_for(user: User) -> None:
    """Delete the user's saved products and share link (``users.erase_user``; not gated)."""
    db.session.execute(delete(WishlistItem).where(WishlistItem.user_id == user.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(WishlistShare).where(WishlistShare.user_id == user.id)
                       .execution_options(synchronize_session=False))


def product_of(item: WishlistItem) -> Product:
    """A saved row's product with its category (for an answer about one row)."""
    return db.session.scalar(select(Product).options(joinedload(Product.category))
                             .where(Product.id == item.product_id))


def product_of_id(product_id: str) -> Product:
    """A product shown in the shop (404 ``product_not_found`` otherwise)."""
    return _visible_product(product_id)


def hearts_for_product(store: Store, user: User | None, product_id: str) -> Hearts:
    """The product page's heart: the store has the wishlist, and whether ``user`` saved it."""
    if not enabled(store):
        return Hearts()
    return Hearts(on=True, saved=saved_ids(user, [product_id]))
