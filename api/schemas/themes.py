"""Themes (Seed A "Templates") as the API shows them."""
from __future__ import annotations

from flask import url_for
from pydantic import Field

from services.themes import Theme

from .common import Input, Output, page_of


class ThemeLayoutOut(Output):
    hero: str = Field(description="banner | split | plain")
    grid: str = Field(description="compact | cozy | roomy")
    cards: str = Field(description="elevated | outline | flat")
    radius: str = Field(description="rounded | soft | square")


class ThemePaletteOut(Output):
    primary_color: str
    accent_color: str
    background_color: str
    text_color: str


class ThemeOut(Output):
    slug: str
    name: str
    description: str
    dark: bool
    palette: ThemePaletteOut
    font_family: str
    heading_font: str
    layout: ThemeLayoutOut
    preview_url: str = Field(description="An SVG sketch of the theme's home page")

    @classmethod
    def of(cls, theme: Theme) -> ThemeOut:
        data = theme.as_dict()
        return cls(slug=theme.slug, name=theme.name, description=theme.description, dark=theme.dark,
                   palette=ThemePaletteOut(**data["palette"]), font_family=theme.font_family,
                   heading_font=theme.heading_font, layout=ThemeLayoutOut(**data["layout"]),
                   preview_url=url_for("api_themes.theme_preview", slug=theme.slug))


class ThemeListOut(page_of(ThemeOut)):
    """A page of the themes (RECONCILE.md's list envelope) and the store's own."""

    current: str | None = Field(default=None, description="The slug the store uses")


class ApplyThemeIn(Input):
    slug: str = Field(min_length=1, max_length=40, description="The theme to apply")
    keep_colors: bool = Field(default=False, description="Keep the branding colours and font; only the layout changes")


class AppliedThemeOut(Output):
    theme: ThemeOut
    branding: dict
