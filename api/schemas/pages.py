"""CMS pages in the API."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from models import Page

from .common import Input, Output, PageQuery


class PageOut(Output):
    id: str
    title: str
    slug: str
    body: str = Field(description="The Markdown as written")
    body_html: str = Field(description="The body rendered and sanitised (what the shop shows)")
    meta_description: str
    is_active: bool
    show_in_footer: bool
    show_in_nav: bool
    sort_order: int
    url: str = Field(description="Where the shop shows it")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, page: Page) -> "PageOut":
        return cls(id=page.id, title=page.title, slug=page.slug, body=page.body, body_html=page.body_html,
                   meta_description=page.meta_description, is_active=page.is_active,
                   show_in_footer=page.show_in_footer, show_in_nav=page.show_in_nav, sort_order=page.sort_order,
                   url=f"/pages/{page.slug}", created_at=page.created_at, updated_at=page.updated_at)


class PagesQuery(PageQuery):
    include_inactive: bool = Field(False, description="Managers and above: inactive pages too")


class PageIn(Input):
    title: str = Field(min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=200, description="Made from the title when left out")
    body: str = Field(default="", max_length=100_000, description="Markdown")
    meta_description: str = Field(default="", max_length=300)
    is_active: bool = True
    show_in_footer: bool = True
    show_in_nav: bool = False
    sort_order: int = Field(default=0, ge=-10_000, le=10_000)


class PageUpdateIn(Input):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    slug: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, max_length=100_000)
    meta_description: str | None = Field(default=None, max_length=300)
    is_active: bool | None = None
    show_in_footer: bool | None = None
    show_in_nav: bool | None = None
    sort_order: int | None = Field(default=None, ge=-10_000, le=10_000)
