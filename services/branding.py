"""Branding: the store's logo, banner and hero images, its colours, font and tagline.

The colours, font and tagline are settings (``StoreSettings.branding``) changed through
``store_config.update_store_config``, so one validation and one cache version cover them. The
images are uploads: checked and re-encoded as product images are (``storage.process_image``:
the real format, at most 25 megapixels, re-encoded as WebP so nothing hidden survives), with a
``MAX_BRANDING_BYTES`` limit (5 MB). The old file is deleted once the new one is committed.
"""
from __future__ import annotations

from flask import current_app

from models import Store
from transactions import on_commit, write_lock

from . import store_config
from .errors import Invalid
from .storage import URL_PREFIX, process_image, storage
from .stores import settings_of

IMAGE_TYPES = ("logo", "banner", "hero")


def check_image_type(image_type: str) -> str:
    if image_type not in IMAGE_TYPES:
        raise Invalid(f"The image is one of: {', '.join(IMAGE_TYPES)}", code="invalid_image_type",
                      details={"image_type": [f"one of: {', '.join(IMAGE_TYPES)}"]})
    return image_type


def max_bytes() -> int:
    return int(current_app.config.get("MAX_BRANDING_BYTES", 5 * 1024 * 1024))


def prepare_image(store: Store, image_type: str, data: bytes) -> str:
    """The slow part, before any write: check, re-encode and store the file; its URL."""
    check_image_type(image_type)
    encoded, _, _ = process_image(data, max_bytes=max_bytes())
    files = storage()
    return files.url(files.save(encoded, prefix=f"{store.id}/branding", ext="webp"))


def _forget(url: str | None) -> None:
    """Delete an uploaded branding file once the change that replaced it is committed."""
    if url and url.startswith(URL_PREFIX + "/"):
        on_commit(storage().delete, url[len(URL_PREFIX) + 1:])


def set_image(store: Store, image_type: str, url: str | None):
    """Point the branding's ``<image_type>_url`` at an uploaded file (``None`` removes it)."""
    check_image_type(image_type)
    write_lock()
    old = getattr(settings_of(store).branding, f"{image_type}_url")
    settings = store_config.update_store_config(store, {"branding": {f"{image_type}_url": url}})
    if old != url:
        _forget(old)
    return settings


def update_branding(store: Store, changes: dict):
    """Change colours, font, tagline or image URLs (DB field names); a replaced upload is deleted."""
    before = settings_of(store).branding
    settings = store_config.update_store_config(store, {"branding": changes})
    for image_type in IMAGE_TYPES:
        old = getattr(before, f"{image_type}_url")
        if old != getattr(settings.branding, f"{image_type}_url"):
            _forget(old)
    return settings
