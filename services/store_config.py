"""The store's whole configuration as one document: its name and description, every setting and
the payment methods (``GET /api/admin/config``, ``/api/tenant/settings``, the admin settings page).
Apart from ``stores``, because enabling a method goes through ``payments``, which reads settings
through ``stores``."""
from __future__ import annotations

from decimal import Decimal

from pydantic import ValidationError

from extensions import db
from models import PAYMENT_METHODS, Store
from models.base import utcnow

from . import payments, plans, themes
from .errors import Invalid
from .money import format_money, to_major, to_minor
from .stores import (
    MONEY_SETTINGS,
    StoreSettings,
    _errors,
    _limit_amounts,
    _message,
    check_name,
    settings_of,
    update_settings,
)

# --- the whole configuration: store name and description, settings, payment methods --------------

# Seed B's StoreConfig names the store's name and description ``store_name`` and
# ``store_description`` (RECONCILE.md: Seed B's names where it gives them). The document carries
# both spellings, and an update takes either (both sent must agree).
SEED_B_NAMES = {"store_name": "name", "store_description": "description"}
CONFIG_FIELDS = ("name", "description", *SEED_B_NAMES, "currency", *StoreSettings.model_fields)
DESCRIPTION_MAX = 5000


def config_of(store: Store) -> dict:
    """The editable configuration document: the store's name and description (also under Seed B's
    names ``store_name`` and ``store_description``), its currency (read-only) and every setting, amounts in major units (what ``GET /api/admin/config`` and
    ``/api/tenant/settings`` answer, and what they accept back)."""
    description = store.description or ""
    document = {"name": store.name, "description": description, "store_name": store.name,
                "store_description": description, "currency": store.currency,
                **settings_of(store).model_dump(mode="json")}
    for key in MONEY_SETTINGS:
        document[key] = to_major(document[key], store.currency)
    return document


def _minor_setting(store: Store, key: str, value) -> tuple[int | None, str | None]:
    """A money setting of the document (a number in major units of the store's currency) in minor
    units, or why not. Its range is the settings' own rule (``stores.StoreSettings``)."""
    currency, label = store.currency, MONEY_SETTINGS[key]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        example = format_money(500, currency).split()[0]
        return None, f"the {label} must be an amount in {currency}, a number such as {example}"
    try:
        return to_minor(value, currency, field=key), None
    except Invalid as exc:
        return None, f"the {label} must be an amount in {currency}: {(exc.details.get(key) or ['invalid'])[0]}"


def update_store_config(store: Store, changes: dict) -> StoreSettings:
    """Apply a partial configuration document in one savepoint: all of it or nothing.

    ``name``/``description`` (or Seed B's ``store_name``/``store_description``; both sent and
    different: the one that differs from the stored value, as when the document is read, one
    spelling edited and sent back whole; both changed and different: a 422 naming the Seed B
    field) go on the store row, ``payment_methods`` (a list of
    ``{name, enabled}`` or a ``{name: enabled}`` map) through ``payments.set_methods`` (an
    unconfigured method is refused), everything else through ``update_settings``; the money settings
    (``MONEY_SETTINGS``) come as numbers in major units of the store's currency, ``currency`` only as
    the store's own (the document round-trips). Every field
    problem found is reported at once in ``details`` (dotted paths)."""
    changes = dict(changes)
    unknown = sorted(set(changes) - set(CONFIG_FIELDS))
    details: dict[str, list[str]] = {key: ["unknown setting"] for key in unknown}
    for seed_b, ours in SEED_B_NAMES.items():
        value = changes.pop(seed_b, None)
        if value is None:
            continue
        other = changes.get(ours)
        if other is None or str(other).strip() == str(value).strip():
            changes[ours] = value
            continue
        # both sent, different: the document read back with one spelling edited keeps the other as
        # stored, and the edited one is meant; two edits that disagree are refused
        stored = str(getattr(store, ours) or "").strip()
        if str(other).strip() == stored:
            changes[ours] = value
        elif str(value).strip() != stored:
            details[seed_b] = [f"send {seed_b} or {ours}, not both with different values: they are the same "
                               f"setting (Seed B's name and ours)"]
    name = changes.pop("name", None)
    description = changes.pop("description", None)
    methods = changes.pop("payment_methods", None)
    currency = changes.pop("currency", None)
    if currency is not None and (not isinstance(currency, str) or currency.strip().upper() != store.currency):
        details["currency"] = [f"the store's currency is {store.currency}; the platform's team changes it"]
    for key in MONEY_SETTINGS:
        if key in changes:
            changes[key], problem = _minor_setting(store, key, changes[key])
            if problem:
                details[key] = [problem]
                del changes[key]
    if name is not None:
        try:
            name = check_name(str(name))
        except Invalid:
            details["name"] = ["the store name must be 1-120 characters on one line"]
    if description is not None:
        description = str(description).strip()
        if len(description) > DESCRIPTION_MAX:
            details["description"] = [f"the description must be at most {DESCRIPTION_MAX} characters"]
    wanted: dict[str, bool] = {}
    if methods is not None:
        items = methods.items() if isinstance(methods, dict) else (
            (m.get("name"), m.get("enabled")) if isinstance(m, dict) else (None, None) for m in methods)
        for method, enabled in items:
            if method not in PAYMENT_METHODS or not isinstance(enabled, bool):
                details.setdefault("payment_methods", []).append(f"{method!r} is not a payment method with enabled true/false")
            else:
                wanted[method] = enabled
    settings_changes = {k: v for k, v in changes.items() if k not in unknown}
    if details:  # report the settings' problems with the store's own
        try:
            StoreSettings.model_validate({**settings_of(store).model_dump(), **settings_changes})
        except ValidationError as exc:
            details.update(_errors(exc))
        raise Invalid(_message(details), details=details, amounts=_limit_amounts(store.currency))
    with db.session.begin_nested():
        if name is not None:
            store.name = name
        if description is not None:
            store.description = description
        try:
            before = settings_of(store)
            after = update_settings(store, settings_changes)
            check_custom_look(store, before, after)
            if wanted:
                payments.set_methods(store, wanted)
        except Invalid as exc:
            if exc.code == "payment_method_not_configured":
                exc.details = {f"payment_methods.{k}": v for k, v in (exc.details or {}).items()}
            raise
        store.updated_at = utcnow()  # the version other processes' store caches check
        db.session.flush()
    return settings_of(store)


# --- the custom look (the ``custom_theme`` addon) -------------------------------------------------

LOOK_KEYS = ("primary_color", "accent_color", "background_color", "text_color", "font_family")


def stock_look(slug: str) -> dict[str, str]:
    """The colours and font a theme comes with."""
    theme = themes.get_theme(slug)
    return {**theme.palette, "font_family": theme.font_family}


def check_custom_look(store: Store, before: StoreSettings, after: StoreSettings) -> None:
    """Colours or a font of the merchant's own, i.e. other than the store's theme's, are the
    ``custom_theme`` addon: a change that leaves them off the theme's palette is refused (403
    ``feature_not_enabled``) on a plan without it. Applying a theme, a logo or a tagline is for
    every plan, and a look already custom (a store moved to a smaller plan) stays as it is."""
    changed = [k for k in LOOK_KEYS if getattr(before.branding, k) != getattr(after.branding, k)]
    if not changed:
        return
    stock = stock_look(after.theme)
    if any(getattr(after.branding, k) != stock[k] for k in changed):
        plans.require_feature(store, "custom_theme")


# --- themes ----------------------------------------------------------------------------------------

def apply_theme(store: Store, slug: str, *, keep_colors: bool = False) -> StoreSettings:
    """Switch the store to a theme (``PUT /api/tenants/current/template``, the Appearance page):
    its layout at once and, unless ``keep_colors``, its palette and fonts copied into the
    branding, where the merchant may change them afterwards."""
    theme = themes.get_theme(slug)
    changes: dict = {"theme": theme.slug}
    if keep_colors:  # colours kept on another theme are a look of the store's own unless they are its
        branding = settings_of(store).branding
        if any(getattr(branding, k) != v for k, v in stock_look(theme.slug).items()):
            plans.require_feature(store, "custom_theme")
    else:
        changes["branding"] = {**theme.palette, "font_family": theme.font_family}
    settings = update_settings(store, changes)
    store.updated_at = utcnow()
    return settings
