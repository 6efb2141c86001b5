"""Themes (Seed A "Templates"): the looks a store can pick (public), and applying one (Admin)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, g, render_template

from services import store_config, themes
from services.pagination import paginate_list
from services.stores import settings_of

from .access import access
from .schemas.common import PageQuery
from .schemas.themes import AppliedThemeOut, ApplyThemeIn, ThemeListOut, ThemeOut

bp = APIBlueprint("api_themes", __name__, url_prefix="/api", tag="Templates")


@bp.get("/templates")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(ThemeListOut)
def list_templates(query: PageQuery):
    """Every theme a store can use (they ship with the platform), a page of them, and which one
    this store uses (`current`)."""
    current = settings_of(g.store).theme if g.get("store") is not None else None
    return {**paginate_list([ThemeOut.of(t) for t in themes.list_themes()], page=query.page,
                            page_size=query.page_size), "current": current}


@bp.get("/templates/<slug>")
@access("public")
@bp.output(ThemeOut)
def get_template(slug: str):
    """One theme: palette, fonts, layout switches and a preview (404 `template_not_found`)."""
    return ThemeOut.of(themes.get_theme(slug))


@bp.get("/templates/<slug>/preview.svg")
@access("public")
@bp.doc(responses={200: {"description": "An SVG sketch of the theme", "content": {"image/svg+xml": {}}}})
def theme_preview(slug: str):
    """A sketch of a theme's home page, drawn from its palette and layout (no image to keep in sync)."""
    theme = themes.get_theme(slug)
    body = render_template("api/theme_preview.svg", t=theme, button_text=themes.contrast_text(theme.primary_color))
    response = Response(body, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.put("/tenants/current/template")
@access("admin")
@bp.input(ApplyThemeIn, arg_name="body")
@bp.output(AppliedThemeOut)
def apply_template(body: ApplyThemeIn):
    """Apply a theme to this store: its layout at once and, unless `keep_colors`, its palette and
    font copied into the branding (change them afterwards with `PUT /api/branding`)."""
    settings = store_config.apply_theme(g.store, body.slug, keep_colors=body.keep_colors)
    return AppliedThemeOut(theme=ThemeOut.of(themes.get_theme(settings.theme)),
                           branding=settings.branding.model_dump(mode="json"))
