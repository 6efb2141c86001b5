"""CMS pages (Seed A "Pages"): title, slug, a Markdown body rendered to sanitised HTML on save
(``text.markdown_to_html``: markdown-it-py with raw HTML off, then nh3), an active flag, and where
they show (footer, nav bar).

A new store starts with Terms, Privacy and Refund-policy pages for the merchant to edit
(``create_default_pages``; migration 0013 gives existing stores the same), so the footer never
links to nothing. The shop's header and footer read the links from the store row itself
(``stores.page_links``, rewritten on every page change with the row locked): the row every request
reads already carries them, so the footer costs no query, and moving ``stores.updated_at`` makes
every process's cached store refresh on its next request.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from extensions import db
from models import Page, Store
from models.base import utcnow
from tenancy import current_store_id

from .errors import Conflict, Invalid, NotFound
from .pagination import paginate
from .slugs import check_slug, unique_slug
from .text import markdown_to_html, twin_title

TITLE_MAX = 200
BODY_MAX = 100_000
META_MAX = 300

DEFAULT_PAGES = (
    ("terms", "Terms of service", 1, """# Terms of service

These terms apply to every purchase from **{store}**.

## Orders
An order is confirmed once it is paid. Digital items (codes, keys, accounts) are delivered on the
order page and by email as soon as payment is confirmed.

## Prices
Prices are shown in the store's currency and include any discount you are entitled to.

## Warranty and replacements
If a delivered item does not work, ask for a replacement from your order page within the warranty
period shown there. We check each request and replace or refund items that do not work.

## Contact
Questions about an order? Reply to your order email, and quote your order number.
"""),
    ("privacy", "Privacy policy", 2, """# Privacy policy

**{store}** keeps only what it needs to sell to you and deliver what you buy.

## What we keep
- Your account: username, email address and password (stored as a one-way hash).
- Your orders and balance history, for our books and your warranty.
- The address your requests come from, to protect the store against fraud.

## What we do with it
We use it to deliver your orders, answer you and keep the store safe. We never sell it.
Marketing emails are sent only if you agreed to them, and every one has an unsubscribe link.

## Your rights
You can ask for a copy of your data, have it corrected, or have your account deleted.
"""),
    ("refund-policy", "Refund policy", 3, """# Refund policy

Digital items are delivered at once, so an order cannot be cancelled once it is delivered.

- **An item that does not work** is replaced, or refunded if no replacement is available, when you
  ask within its warranty period.
- **A wrong order** can be refunded before its items are revealed.
- **Refunds** go back to the way you paid, or to your store balance if you prefer.

To ask, open the order in your account and use "Ask for a replacement", or contact us.
"""),
)


@dataclass(frozen=True)
class SiteLink:
    title: str
    slug: str
    in_footer: bool
    in_nav: bool


def lock_store() -> Store | None:
    """The bound store's row, locked (PostgreSQL's ``FOR NO KEY UPDATE``; SQLite's write transaction
    holds the database already): page writes of one store wait for each other, and nothing else
    does: a new order or cart line refers to the store, and its foreign key check's ``FOR KEY
    SHARE`` does not wait for this lock (``FOR UPDATE`` would hold up the store's checkouts)."""
    store_id = current_store_id()
    if not store_id:
        return None
    return db.session.get(Store, store_id, with_for_update={"key_share": True}, populate_existing=True)


def check_title_free(title: str, *, exclude_id: str | None = None) -> None:
    """THE rule of page titles: one store's pages have different titles, compared trimmed and
    case-insensitively (the footer and nav bar link them by title: two "About us" links would not
    say which is which). 409 ``title_taken`` names the title. Called with the store row locked
    (``lock_store``), so two pages given one title at once cannot both pass. The store's pages are
    few: their titles are compared here, in Python, so "Über uns" and "ÜBER UNS" clash on SQLite too."""
    stmt = select(Page.title)
    if exclude_id:
        stmt = stmt.where(Page.id != exclude_id)
    twin = twin_title(title, db.session.scalars(stmt))
    if twin is not None:
        raise Conflict(f"Another page is already called “{twin}”: give this one a different title",
                       code="title_taken", details={"title": ["taken"]})


def _refresh_links(store: Store | None = None) -> None:
    """Recompute the store's ``page_links`` (and move its version, so every process's cached
    store refreshes on its next request). The store row is locked first: two page edits at once
    write their lists one after the other, each from the pages the other committed."""
    store = store or lock_store()
    if store is None:
        return
    db.session.flush()
    rows = db.session.execute(select(Page.title, Page.slug, Page.show_in_footer, Page.show_in_nav)
                              .where(Page.is_active.is_(True), Page.show_in_footer | Page.show_in_nav)
                              .order_by(Page.sort_order, Page.title, Page.id)).all()
    store.page_links = [{"title": t, "slug": slug, "in_footer": footer, "in_nav": nav} for t, slug, footer, nav in rows]
    store.updated_at = utcnow()


def _clean(data: dict, *, partial: bool) -> dict:
    """Checked fields of a create or an update; every problem at once (422)."""
    details: dict[str, list[str]] = {}
    out: dict = {}
    if "title" in data or not partial:
        title = str(data.get("title") or "").strip()
        if not title or len(title) > TITLE_MAX:
            details["title"] = [f"a title of 1-{TITLE_MAX} characters"]
        out["title"] = title
    if "body" in data or not partial:
        body = str(data.get("body") or "")
        if len(body) > BODY_MAX:
            details["body"] = [f"at most {BODY_MAX:,} characters"]
        out["body"] = body
    if "meta_description" in data:
        meta = str(data.get("meta_description") or "").strip()
        if len(meta) > META_MAX:
            details["meta_description"] = [f"at most {META_MAX} characters"]
        out["meta_description"] = meta
    for flag in ("is_active", "show_in_footer", "show_in_nav"):
        if flag in data and data[flag] is not None:
            if not isinstance(data[flag], bool):
                details[flag] = ["true or false"]
            out[flag] = data[flag]
    if "sort_order" in data and data["sort_order"] is not None:
        if not isinstance(data["sort_order"], int) or isinstance(data["sort_order"], bool) or not -10_000 <= data["sort_order"] <= 10_000:
            details["sort_order"] = ["a whole number from -10000 to 10000"]
        out["sort_order"] = data["sort_order"]
    if details:
        first = next(iter(details.items()))
        raise Invalid(f"The {first[0].replace('_', ' ')} must be {first[1][0]}" if len(details) == 1 else "Invalid page",
                      details=details)
    return out


def create_page(data: dict, *, actor=None) -> Page:
    fields = _clean(data, partial=False)
    store = lock_store()
    check_title_free(fields["title"])
    slug = check_slug(Page, data["slug"]) if data.get("slug") else unique_slug(Page, fields["title"])
    page = Page(slug=slug, body_html=markdown_to_html(fields["body"]), updated_by_id=getattr(actor, "id", None), **fields)
    db.session.add(page)
    db.session.flush()
    _refresh_links(store)
    return page


def update_page(page: Page, data: dict, *, actor=None) -> Page:
    fields = _clean(data, partial=True)
    store = lock_store()
    # A page keeping its title (or changing only its case) is not refused for a twin it already had.
    if "title" in fields and fields["title"].casefold() != (page.title or "").strip().casefold():
        check_title_free(fields["title"], exclude_id=page.id)
    if data.get("slug") and data["slug"] != page.slug:
        page.slug = check_slug(Page, data["slug"], exclude_id=page.id)
    for key, value in fields.items():
        setattr(page, key, value)
    if "body" in fields:
        page.body_html = markdown_to_html(fields["body"])
    page.updated_by_id = getattr(actor, "id", None)
    page.updated_at = utcnow()
    db.session.flush()
    _refresh_links(store)
    return page


def delete_page(page: Page) -> None:
    db.session.delete(page)
    db.session.flush()
    _refresh_links()


def get_page(page_id: str | None) -> Page:
    page = db.session.get(Page, page_id) if page_id and len(page_id) <= 36 else None
    if page is None:
        raise NotFound("No such page", code="page_not_found")
    return page


def page_by_slug(slug: str, *, include_inactive: bool = False) -> Page:
    """A page by its slug; an inactive one only for staff previews (404 ``page_not_found``)."""
    stmt = select(Page).where(Page.slug == (slug or "")[:200])
    if not include_inactive:
        stmt = stmt.where(Page.is_active.is_(True))
    page = db.session.scalar(stmt)
    if page is None:
        raise NotFound("No such page", code="page_not_found")
    return page


def list_pages(*, include_inactive: bool = False, page: int = 1, page_size: int = 20) -> dict:
    stmt = select(Page)
    if not include_inactive:
        stmt = stmt.where(Page.is_active.is_(True))
    return paginate(stmt.order_by(Page.sort_order, Page.title, Page.id), page=page, page_size=page_size)


def site_links(store: Store) -> list[SiteLink]:
    """The active pages the shop links to (footer, nav): read from the store row, no query."""
    return [SiteLink(link["title"], link["slug"], bool(link.get("in_footer")), bool(link.get("in_nav")))
            for link in (store.page_links or [])]


def preview(body: str) -> str:
    """The HTML a Markdown body would become (the editor's preview)."""
    return markdown_to_html((body or "")[:BODY_MAX])


def create_default_pages(store_name: str) -> list[Page]:
    """The pages a new store starts with (the bound store): Terms, Privacy, Refund policy."""
    pages = []
    for slug, title, order, body in DEFAULT_PAGES:
        text = body.format(store=store_name)
        pages.append(Page(slug=slug, title=title, body=text, body_html=markdown_to_html(text), sort_order=order,
                          is_active=True, show_in_footer=True, show_in_nav=False))
    db.session.add_all(pages)
    db.session.flush()
    _refresh_links()
    return pages
