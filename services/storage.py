"""File storage behind one small interface (local folder by default) and image checking.

Decoding an image costs memory by its pixels, not its bytes (a 64-megapixel PNG of one colour is
a few KB on the wire and 256 MB decoded), so ``process_image``:

* refuses more than ``MAX_PIXELS`` from the header, before any pixel is decoded (Pillow's own
  decompression-bomb guard stays behind it, at twice that);
* decodes JPEGs at 1/2, 1/4 or 1/8 scale (``Image.draft``) when the output is that much smaller,
  so their cost follows the output (``MAX_SIDE``); PNG, WebP and GIF have no scaled decoding, so
  theirs is bounded by ``MAX_PIXELS`` (a whole-factor ``reduce`` then lets the full-size pixels go
  before the final resampling);
* decodes one image at a time per process (``IMAGE_WORKERS``, default 1): concurrent uploads
  wait their turn instead of each holding its own decoded image, and the memory is handed back
  to the system after each (glibc keeps it per thread otherwise: 8 threads, 8 images' worth).
"""
from __future__ import annotations

import ctypes
import io
import os
import threading
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
RESIZED_AS_IS = {"RGB", "RGBA", "L", "LA"}  # modes Pillow resamples well without converting first
PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}

_slots: threading.BoundedSemaphore | None = None
_slots_made = threading.Lock()
try:  # glibc: give freed memory back to the system (each thread's malloc arena keeps it otherwise)
    _malloc_trim = ctypes.CDLL(None).malloc_trim
    _malloc_trim.argtypes, _malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
except (OSError, AttributeError, TypeError):  # another C library (or Windows): nothing to trim
    _malloc_trim = None


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


def image_slots() -> threading.BoundedSemaphore:
    """The process's decoding slots: ``IMAGE_WORKERS`` (default 1), made on first use. Only Pillow
    runs inside (no database), so a thread waiting for a slot never waits on a lock the thread
    decoding holds."""
    global _slots
    if _slots is None:
        with _slots_made:
            if _slots is None:
                _slots = threading.BoundedSemaphore(int(current_app.config.get("IMAGE_WORKERS", 1)))
    return _slots


def too_large(size: tuple[int, int] | None = None) -> Invalid:
    this = f" (this one is {size[0]}×{size[1]})" if size else ""
    return Invalid(f"Images may be at most {MAX_PIXELS // 1_000_000} megapixels{this}", code="image_too_large",
                   details={"file": [f"more than {MAX_PIXELS // 1_000_000} megapixels"]})


def process_image(data: bytes, *, max_bytes: int | None = None) -> tuple[bytes, int, int]:
    """Verify an upload really is an image and re-encode it (WebP, at most ``MAX_SIDE`` pixels a
    side), dropping anything else inside. Touches no database: callers run it before they write."""
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
        with image_slots():
            try:
                return _reencode(data)
            finally:
                if _malloc_trim is not None:
                    _malloc_trim(0)
    except Image.DecompressionBombError as exc:
        raise too_large() from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise Invalid("That file is not an image we can read", code="invalid_image",
                      details={"file": ["not an image"]}) from exc


def _reencode(data: bytes) -> tuple[bytes, int, int]:
    with Image.open(io.BytesIO(data)) as source:
        mode = "RGBA" if source.mode in ("RGBA", "LA", "P") else "RGB"
        source.draft(None, _fit(source.size))  # JPEG: decode at 1/2, 1/4 or 1/8 scale, still >= the output
        source.load()
        img = _downscale(source, mode)
    if img.mode != mode:
        img = img.convert(mode)  # at the output's size
    out = io.BytesIO()
    img.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue(), img.width, img.height


def _downscale(img: Image.Image, mode: str) -> Image.Image:
    """To at most ``MAX_SIDE`` a side, letting go of each bigger step as soon as the next exists."""
    size = _fit(img.size)
    if img.size == size:
        return img
    if img.mode not in RESIZED_AS_IS:  # P, CMYK, 16-bit...: converted first to be resampled well
        img = _instead(img, img.convert(mode))
    if img.mode in PREMULTIPLIED:  # resampling with alpha needs it premultiplied: once, here, not per step
        img = _instead(img, img.convert(PREMULTIPLIED[img.mode]))
    factor = min(img.width // size[0], img.height // size[1])
    if factor >= 2:
        img = _instead(img, img.reduce(factor))  # a box average by a whole factor, still >= the output
    if img.size != size:
        img = _instead(img, img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0))  # as thumbnail() does
    for straight, premultiplied in PREMULTIPLIED.items():
        if img.mode == premultiplied:
            img = _instead(img, img.convert(straight))
    return img


def _instead(old: Image.Image, new: Image.Image) -> Image.Image:
    old.close()  # frees its pixels now, not when the last reference goes
    return new


def _fit(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` shrunk (aspect kept) to at most ``MAX_SIDE`` on its longest side."""
    if max(size) <= MAX_SIDE:
        return size
    scale = MAX_SIDE / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
