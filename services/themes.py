"""Themes (Seed A "Templates"): named looks a store picks, defined here in code, never copied per store.

A theme is a colour palette and a font stack (applied through the CSS custom properties that
``layouts/base.html`` puts on ``<html>``), plus three layout switches that ``static/css/themes.css``
reads from classes on ``<html>``:

- ``hero``: ``banner`` (a tinted panel), ``split`` (a bold, full-bleed band with the actions beside
  the title) or ``plain`` (text only, no panel);
- ``grid``: ``compact`` (more, smaller cards), ``cozy`` or ``roomy`` (fewer, larger cards);
- ``cards``: ``elevated`` (shadow), ``outline`` (border, no shadow) or ``flat`` (no border).

Applying a theme (``store_config.apply_theme``) stores its slug in the store's settings and copies its palette
and font into the branding, where the merchant can then change any colour: the theme is the
starting point, the branding the store's own. The text colour on brand-coloured buttons is worked
out from the brand colour (``contrast_text``), so any brand colour keeps readable buttons.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from .errors import NotFound

DEFAULT_THEME = "clean"


@dataclass(frozen=True)
class Theme:
    slug: str
    name: str
    description: str
    primary_color: str
    accent_color: str
    background_color: str
    text_color: str
    font_family: str
    heading_font: str
    hero: str  # banner | split | plain
    grid: str  # compact | cozy | roomy
    cards: str  # elevated | outline | flat
    radius: str  # rounded | soft | square
    dark: bool = False

    @property
    def palette(self) -> dict[str, str]:
        return {"primary_color": self.primary_color, "accent_color": self.accent_color,
                "background_color": self.background_color, "text_color": self.text_color}

    @property
    def classes(self) -> str:
        """The classes ``<html>`` carries for this theme's layout switches."""
        return (f"theme-{self.slug} hero-{self.hero} grid-{self.grid} cards-{self.cards} radius-{self.radius}"
                + (" theme-dark" if self.dark else ""))

    def as_dict(self) -> dict:
        data = asdict(self)
        data["palette"] = self.palette
        data["layout"] = {"hero": self.hero, "grid": self.grid, "cards": self.cards, "radius": self.radius}
        return data


THEMES: dict[str, Theme] = {t.slug: t for t in (
    Theme("clean", "Clean", "Light and friendly: a tinted hero, rounded cards with a soft shadow, four to a row.",
          "#4f46e5", "#0ea5e9", "#f8fafc", "#0f172a",
          "system-ui", "system-ui", hero="banner", grid="cozy", cards="elevated", radius="rounded"),
    Theme("arcade", "Arcade", "Dark and loud for game keys and gift cards: neon accents, a full-width hero band, "
          "dense outlined cards.",
          "#a3e635", "#f472b6", "#0b1020", "#e2e8f0",
          "\"Trebuchet MS\", \"Segoe UI\", system-ui", "\"Arial Black\", \"Segoe UI\", system-ui",
          hero="split", grid="compact", cards="outline", radius="soft", dark=True),
    Theme("minimal", "Minimal", "Black on white, a serif voice, no decoration: plain hero, three large flat cards "
          "to a row, square corners.",
          "#111111", "#6b7280", "#ffffff", "#111111",
          "\"Helvetica Neue\", Arial, system-ui", "Georgia, \"Times New Roman\", serif",
          hero="plain", grid="roomy", cards="flat", radius="square"),
    Theme("boutique", "Boutique", "Warm paper tones and terracotta for a curated shop: serif headings, soft cards.",
          "#b4532a", "#0f766e", "#fbf6ee", "#2b211c",
          "Georgia, \"Times New Roman\", serif", "Georgia, \"Times New Roman\", serif",
          hero="banner", grid="roomy", cards="elevated", radius="soft"),
)}


def list_themes() -> list[Theme]:
    return list(THEMES.values())


def get_theme(slug: str | None) -> Theme:
    """A theme by slug (404 ``template_not_found`` otherwise)."""
    theme = THEMES.get(slug or "")
    if theme is None:
        raise NotFound("No such template", code="template_not_found")
    return theme


def theme_or_default(slug: str | None) -> Theme:
    """The theme a stored slug names, the default one for a slug no longer shipped."""
    return THEMES.get(slug or "") or THEMES[DEFAULT_THEME]


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@lru_cache(maxsize=512)
def contrast_text(background: str) -> str:
    """White or near-black, whichever reads better on ``background``."""
    try:
        return "#ffffff" if contrast_ratio(background, "#ffffff") >= contrast_ratio(background, "#0f172a") else "#0f172a"
    except (ValueError, IndexError):
        return "#ffffff"
