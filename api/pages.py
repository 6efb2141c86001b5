"""CMS pages (Seed A "Pages"): read by anyone (active pages), written by Manager+.

The reads are public (endpoints.tsv ``-``): a stale or bad token is no token, as on /api/products;
a valid manager's token still reads the drafts."""
from __future__ import annotations

from apiflask import APIBlueprint

from models import Role
from services import pages as page_service

from .access import access, current_principal
from .schemas.common import page_of
from .schemas.pages import PageIn, PageOut, PagesQuery, PageUpdateIn

bp = APIBlueprint("api_pages", __name__, url_prefix="/api", tag="Pages")


def _is_manager() -> bool:
    principal = current_principal()
    return principal.user is not None and principal.role.at_least(Role.MANAGER)


@bp.get("/pages")
@access("public")
@bp.input(PagesQuery, location="query", arg_name="query")
@bp.output(page_of(PageOut))
def list_pages(query: PagesQuery):
    """The store's active pages in their order (footer and nav flags included); a manager's token
    with `include_inactive=true` lists the drafts too."""
    result = page_service.list_pages(include_inactive=query.include_inactive and _is_manager(), page=query.page,
                                     page_size=query.page_size)
    return {**result, "items": [PageOut.of(p) for p in result["items"]]}


@bp.get("/pages/<slug>")
@access("public")
@bp.output(PageOut)
def get_page(slug: str):
    """An active page by its slug (404 `page_not_found`; a manager's token also reads inactive ones)."""
    return PageOut.of(page_service.page_by_slug(slug, include_inactive=_is_manager()))


@bp.post("/pages")
@access("manager")
@bp.input(PageIn, arg_name="body")
@bp.output(PageOut, status_code=201)
@bp.doc(responses={409: "The slug is used by another page (`slug_taken`), or the title, ignoring case "
                              "(`title_taken`)"})
def create_page(body: PageIn):
    """Create a page: the body is Markdown, rendered to sanitised HTML (no raw HTML, no scripts)."""
    return PageOut.of(page_service.create_page(body.model_dump(), actor=current_principal().user))


@bp.put("/pages/<page_id>")
@access("manager")
@bp.input(PageUpdateIn, arg_name="body")
@bp.output(PageOut)
@bp.doc(responses={404: "No such page", 409: "The new slug (`slug_taken`) or title (`title_taken`) is another page's"})
def update_page(page_id: str, body: PageUpdateIn):
    """Change a page: only the fields sent change."""
    page = page_service.get_page(page_id)
    return PageOut.of(page_service.update_page(page, body.model_dump(exclude_unset=True),
                                               actor=current_principal().user))


@bp.delete("/pages/<page_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_page(page_id: str):
    """Delete a page; the shop's links to it go with it."""
    page_service.delete_page(page_service.get_page(page_id))
    return ""
