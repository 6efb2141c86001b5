"""Product images: checked and re-encoded (services.storage), the primary image kept on the product."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from extensions import db
from models import (
    Product,
    ProductImage,
)
from transactions import on_commit, write_lock

from .errors import NotFound
from .storage import process_image, storage


@dataclass(frozen=True)
class PreparedImage:
    key: str
    url: str
    width: int
    height: int


def prepare_image(product: Product, data: bytes) -> PreparedImage:
    """The slow part of an upload, with no database write: check, decode, re-encode, store the file."""
    encoded, width, height = process_image(data)
    store = storage()
    key = store.save(encoded, prefix=f"{product.store_id}/products", ext="webp")
    return PreparedImage(key, store.url(key), width, height)


def add_image(product: Product, prepared: PreparedImage, *, is_primary: bool = False) -> ProductImage:
    """Record a prepared image (the first one, or ``is_primary``, becomes the product's main image).
    Takes SQLite's write lock only now, when the request began without it (``begins_deferred``)."""
    write_lock()
    key, width, height = prepared.key, prepared.width, prepared.height
    has_images = db.session.scalar(select(func.count()).select_from(ProductImage)
                                   .where(ProductImage.product_id == product.id)) or 0
    primary = is_primary or has_images == 0
    if primary:
        db.session.execute(update(ProductImage).where(ProductImage.product_id == product.id).values(is_primary=False))
    image = ProductImage(product_id=product.id, url=prepared.url, storage_key=key, is_primary=primary,
                         sort_order=has_images, width=width, height=height)
    db.session.add(image)
    if primary:
        product.primary_image_url = image.url
    db.session.flush()
    return image


def delete_image(product: Product, image_id: str) -> None:
    image = db.session.scalar(select(ProductImage).where(ProductImage.id == image_id,
                                                         ProductImage.product_id == product.id))
    if image is None:
        raise NotFound("No such image", code="image_not_found")
    key, was_primary = image.storage_key, image.is_primary
    db.session.delete(image)
    db.session.flush()
    if was_primary:
        successor = db.session.scalar(select(ProductImage).where(ProductImage.product_id == product.id)
                                      .order_by(ProductImage.sort_order).limit(1))
        if successor is not None:
            successor.is_primary = True
        product.primary_image_url = successor.url if successor else None
        db.session.flush()
    on_commit(storage().delete, key)  # the file goes once the row that names it is gone for good
