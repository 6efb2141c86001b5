"""Branding uploads."""
from __future__ import annotations

from apiflask.fields import UploadFile

from .common import Input


class BrandingImageIn(Input):
    """multipart/form-data: the image as ``file`` (or ``image``)."""

    file: UploadFile | None = None
    image: UploadFile | None = None
