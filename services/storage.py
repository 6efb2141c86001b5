"""File storage behind one small interface (local folder by default) and image checking."""
from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from flask import current_app
from PIL import Image, UnidentifiedImageError

from .errors import Invalid

MAX_PIXELS = 25_000_000  # product and branding images: a 6000 × 4000 photo fits
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow refuses twice this in Image.open (DecompressionBombError)
URL_PREFIX = "/uploads"
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_SIDE = 2400


class LocalStorage:
    """Keys are server-generated (``<store>/<uuid>.webp``); nothing a client sends names a file."""

    def __init__(self, root: str):
        self.root = Path(root)

    def save(self, data: bytes, *, prefix: str, ext: str) -> str:
        key = f"{prefix}/{uuid.uuid4().hex}.{ext}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return key

    def delete(self, key: str) -> None:
        path = (self.root / key).resolve()
        if self.root.resolve() in path.parents and path.exists():
            path.unlink()

    def url(self, key: str) -> str:
        return f"{URL_PREFIX}/{key}"  # served by storefront.upload; no request needed (jobs, CLI)

    def path(self, key: str) -> Path:
        return self.root / key


def storage() -> LocalStorage:
    return LocalStorage(current_app.config["UPLOAD_FOLDER"])


def too_large(size: tuple[int, int] | None = None) -> Invalid:
    this = f" (this one is {size[0]}×{size[1]})" if size else ""
    return Invalid(f"Images may be at most {MAX_PIXELS // 1_000_000} megapixels{this}", code="image_too_large",
                   details={"file": [f"more than {MAX_PIXELS // 1_000_000} megapixels"]})


def process_image(data: bytes, *, max_bytes: int | None = None) -> tuple[bytes, int, int]:
    """Verify an upload really is an image and re-encode it (WebP), dropping anything else inside."""
    limit = max_bytes or current_app.config["MAX_IMAGE_BYTES"]
    if not data:
        raise Invalid("The file is empty", code="invalid_image", details={"file": ["empty"]})
    if len(data) > limit:
        raise Invalid(f"Images may be at most {limit // (1024 * 1024)} MB", code="file_too_large",
                      details={"file": ["too large"]}, status=413)
    try:
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            if probe.format not in ALLOWED_FORMATS:
                raise Invalid("Upload a JPEG, PNG, WebP or GIF image", code="invalid_image",
                              details={"file": [f"format {probe.format} not accepted"]})
            if probe.width * probe.height > MAX_PIXELS:  # decoding costs memory by pixels, not bytes
                raise too_large(probe.size)
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            img.save(out, format="WEBP", quality=85, method=4)
            return out.getvalue(), img.width, img.height
    except Image.DecompressionBombError as exc:
        raise too_large() from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise Invalid("That file is not an image we can read", code="invalid_image",
                      details={"file": ["not an image"]}) from exc
