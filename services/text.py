"""Slugs and sanitised rich text."""
from __future__ import annotations

import re
import unicodedata

import bleach

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
