"""Slugs and sanitised rich text."""
from __future__ import annotations

import re
import unicodedata

import bleach

from .errors import Invalid

ALLOWED_TAGS = ["p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "a", "h2", "h3", "h4",
                "blockquote", "code", "pre", "hr", "span", "table", "thead", "tbody", "tr", "th", "td"]
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel", "target"], "span": ["class"], "code": ["class"]}
ALLOWED_PROTOCOLS = ["http", "https", "mailto"]


def slugify(value: str, max_length: int = 120) -> str:
    value = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value).strip("-").lower()
    return value[:max_length].strip("-")


def sanitize_html(value: str | None) -> str:
    """Rich text from admins: formatting kept, scripts, styles and event handlers removed."""
    cleaned = bleach.clean(value or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                           protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True)
    return bleach.linkify(cleaned, callbacks=[bleach.callbacks.nofollow, bleach.callbacks.target_blank],
                          skip_tags=["pre", "code"])


def plain_text(value: str | None, limit: int = 300) -> str:
    text = bleach.clean(value or "", tags=[], strip=True)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def clean_text(value, name: str, *, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{name} is required", details={name: ["required"]})
    if len(value) > max_length:
        raise Invalid(f"{name} may be at most {max_length} characters", details={name: ["too long"]})
    return value
