"""Wishlist schemas. Money in the catalog's shape: ``starting_at`` in major units with ``currency``."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field, StrictBool

from models import Product, Store, WishlistItem

from .common import Id, Input, Output, money_out, page_of


class WishlistAddIn(Input):
    product_id: Id = Field(validation_alias=AliasChoices("product_id", "productId"))


class WishlistShareIn(Input):
    revoke: StrictBool = False  # true: delete the link instead of making a new one


class WishlistProductOut(Output):
    id: str
    title: str
    slug: str
    category: str | None
    product_image_url: str | None
    starting_at: float | None  # the catalog's price: the lowest active variant price
    currency: str
    in_stock: bool


class WishlistItemOut(Output):
    product_id: str
    added_at: datetime
    product: WishlistProductOut

    @classmethod
    def of(cls, item: WishlistItem, product: Product, store: Store) -> "WishlistItemOut":
        return cls(product_id=product.id, added_at=item.created_at, product=WishlistProductOut(
            id=product.id, title=product.title, slug=product.slug,
            category=product.category.title if product.category else None,
            product_image_url=product.primary_image_url,
            starting_at=money_out(product.starting_at, store.currency), currency=store.currency,
            in_stock=product.stock_total > 0))


class WishlistOut(page_of(WishlistItemOut)):
    """A page of the wishlist (RECONCILE.md's list envelope)."""


class WishlistAddOut(Output):
    created: bool  # false: it was already saved (adding is idempotent)
    item: WishlistItemOut


class WishlistCheckOut(Output):
    product_id: str
    in_wishlist: bool


class WishlistShareOut(Output):
    shared: bool
    token: str | None = None  # shown once: only its hash is stored
    url: str | None = None


class SharedWishlistOut(page_of(WishlistItemOut)):
    """A page of a shared wishlist (RECONCILE.md's list envelope) and whose it is."""

    display_name: str
