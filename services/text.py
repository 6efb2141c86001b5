"""Slugs, checked text and sanitised rich text (nh3, the Rust ammonia sanitizer); Markdown to safe HTML
(markdown-it-py, CommonMark)."""
from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import func

from .errors import Invalid

ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "a", "h2", "h3", "h4",
                "blockquote", "code", "pre", "hr", "span", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "code": {"class"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
DROPPED_WITH_CONTENT = {"script", "style"}  # their text is code, never content to show


# C0 control characters (and DEL) but tab, newline and carriage return: text never needs them, and
# PostgreSQL refuses NUL in text outright. Refused at every edge: API bodies and queries
# (api/schemas/common.py), query strings and path segments (web.py), page forms (web.PageForm),
# stock imports (services.stock, with the line).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "contains a control character (such as NUL): remove it"


def has_control_chars(value: str) -> bool:
    return _CONTROL.search(value) is not None


def control_char_path(data, path: str = "") -> str | None:
    """Where (``field``, ``list[3]``, ``a.b``) the first string with a control character sits in
    parsed input (dicts, lists, strings, keys included); None when there is none."""
    stack = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if has_control_chars(value):
                return where or "the value"
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and has_control_chars(key):
                    return f"{where}.{key!r}" if where else repr(key)
                stack.append((f"{where}.{key}" if where else str(key), item))
        elif isinstance(value, list | tuple):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
    return None


def holds(column, term: str):
    """``lower(column)`` contains ``term`` (lowered), literally: ``%`` and ``_`` in what a user
    typed (``john_doe``) are characters, not LIKE wildcards (escaped with ``/``, SQLite having no
    default escape character). The same LIKE the trigram indexes on ``lower(col)`` serve."""
    escaped = term.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return func.lower(column).like(f"%{escaped}%", escape="/")


def slugify(value: str, max_length: int = 120) -> str:
    value = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-zA-Z0-9]+", "-", value).strip("-").lower()
    return value[:max_length].strip("-")


def sanitize_html(value: str | None) -> str:
    """Rich text from admins: formatting kept; scripts and styles removed with their content, event
    handlers, unknown tags and other URL schemes removed; links open in a new tab, nofollow."""
    return nh3.clean(value or "", tags=ALLOWED_TAGS, clean_content_tags=DROPPED_WITH_CONTENT,
                     attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_SCHEMES, strip_comments=True,
                     link_rel="noopener noreferrer nofollow", set_tag_attribute_values={"a": {"target": "_blank"}})


# CommonMark with tables and strikethrough; raw HTML in the source is shown as text, never passed on.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(["table", "strikethrough"])
MARKDOWN_TAGS = ALLOWED_TAGS | {"h1", "h5", "h6"}


def markdown_to_html(source: str | None) -> str:
    """Markdown written by an admin (a campaign) as safe HTML: rendered by markdown-it-py with raw
    HTML off, then cleaned by nh3 with the rich-text allow-list (links http(s)/mailto only, no
    images, no styles): two independent guards, so a renderer bug alone lets nothing through."""
    return nh3.clean(_MARKDOWN.render(source or ""), tags=MARKDOWN_TAGS, clean_content_tags=DROPPED_WITH_CONTENT,
                     attributes=ALLOWED_ATTRIBUTES, url_schemes=ALLOWED_SCHEMES, strip_comments=True,
                     link_rel="noopener noreferrer nofollow", set_tag_attribute_values={"a": {"target": "_blank"}})


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def clean_text(value, name: str, *, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{name} is required", details={name: ["required"]})
    if len(value) > max_length:
        raise Invalid(f"{name} may be at most {max_length} characters", details={name: ["too long"]})
    return value


def twin_title(title: str, others) -> str | None:
    """The first of ``others`` that is ``title`` once both are trimmed and case-folded (the rule of
    titles listed side by side: CMS pages, a parent's categories), as it is written; None when
    none is. Compared in Python (the lists are short), so "Über" and "ÜBER" clash on SQLite too."""
    wanted = title.strip().casefold()
    return next(((other or "").strip() for other in others if (other or "").strip().casefold() == wanted), None)
