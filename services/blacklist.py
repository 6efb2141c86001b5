"""The blacklist: IP addresses, emails and usernames that may not register or sign in at a store
(the check is ``services.auth.check_blacklist``: at registration, sign-in, an email change and checkout).

Values are stored the way the check compares them: an IP address in its canonical text
(``ipaddress``: ``2001:DB8::1`` is ``2001:db8::1``), an email normalised and lower-cased, a
username lower-cased (the check ignores case). The check matches exact addresses only, so a
network (CIDR) is refused rather than stored to match nothing. Each entry keeps its reason and who
added it. Adding a value that is listed already is a 409 ``blacklist_exists``."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select

from extensions import db
from models import BLACKLIST_KINDS, Blacklist, User

from .auth import USERNAME_RE, normalize_email
from .errors import Conflict, Forbidden, Invalid, NotFound
from .pagination import paginate
from .text import holds


def check_kind(kind: str | None, *, required: bool = False) -> str | None:
    kind = (kind or "").strip().lower()
    if not kind and not required:
        return None
    if kind not in BLACKLIST_KINDS:
        raise Invalid(f"The kind is one of: {', '.join(BLACKLIST_KINDS)}", code="invalid_kind",
                      details={"kind": [f"one of: {', '.join(BLACKLIST_KINDS)}"]})
    return kind


def normalize(kind: str, value: str) -> str:
    """The value as the check compares it; 422 (on ``value``) when it is not a valid one."""
    value = (value or "").strip()
    if not value:
        raise Invalid("Enter the value to block", details={"value": ["required"]})
    if kind == "ip":
        if "/" in value:
            raise Invalid("Enter one IP address (networks are not supported)", code="invalid_value",
                          details={"value": ["one address, no /prefix"]})
        try:
            return str(ipaddress.ip_address(value)).lower()
        except ValueError as exc:
            raise Invalid("That is not an IP address", code="invalid_value",
                          details={"value": ["an IPv4 or IPv6 address"]}) from exc
    if kind == "email":
        try:
            return normalize_email(value, field="value")
        except Invalid as exc:
            raise Invalid("That is not an email address", code="invalid_value", details=exc.details) from exc
    if not USERNAME_RE.match(value):
        raise Invalid("A username is 3-32 letters, digits, dots, dashes or underscores", code="invalid_value",
                      details={"value": ["3-32 of A-Z a-z 0-9 . _ -"]})
    return value.lower()


def list_entries(*, kind: str | None = None, q: str | None = None, page: int = 1, page_size: int = 25) -> dict:
    """One page of ``(Blacklist, added_by_username)``, newest first, optionally of one kind or
    containing ``q``."""
    kind = check_kind(kind)
    stmt = select(Blacklist, User.username).outerjoin(User, User.id == Blacklist.created_by_id)
    if kind:
        stmt = stmt.where(Blacklist.kind == kind)
    term = (q or "").strip()[:100]
    if term:
        stmt = stmt.where(holds(Blacklist.value, term))
    return paginate(stmt.order_by(Blacklist.created_at.desc(), Blacklist.id), page=page, page_size=page_size,
                    scalars=False)


def _own(kind: str, value: str, actor: User | None, actor_ip: str | None) -> str | None:
    """What of the acting admin's own ``value`` names (their address, email or username), if any."""
    if kind == "ip" and actor_ip:
        try:
            return "IP address" if str(ipaddress.ip_address(actor_ip)).lower() == value else None
        except ValueError:
            return None
    if actor is None:
        return None
    if kind == "email" and actor.email and normalize_email(actor.email) == value:
        return "email"
    if kind == "username" and actor.username and actor.username.lower() == value.lower():
        return "username"
    return None


def add_entry(*, kind: str, value: str, reason: str = "", actor: User | None, actor_ip: str | None = None) -> Blacklist:
    """List ``value``; refused (403 ``own_account``) when it is the acting admin's own address
    (``actor_ip``), email or username: the entry would lock them out of their own store."""
    kind = check_kind(kind, required=True)
    value = normalize(kind, value)
    if (own := _own(kind, value, actor, actor_ip)) is not None:
        raise Forbidden(f"You cannot block your own {own}: you would be locked out of this store", code="own_account",
                        details={"value": [f"your own {own}"]})
    reason = (reason or "").strip()
    if len(reason) > 255:
        raise Invalid("The reason is at most 255 characters", details={"reason": ["at most 255 characters"]})
    if db.session.scalar(select(Blacklist.id).where(Blacklist.kind == kind, Blacklist.value == value)):
        raise Conflict(f"{value} is on the blacklist already", code="blacklist_exists",
                       details={"value": ["already listed"]})
    entry = Blacklist(kind=kind, value=value, reason=reason, created_by_id=actor.id if actor else None)
    db.session.add(entry)
    db.session.flush()
    return entry


def get_entry(entry_id: str | None) -> Blacklist:
    entry = db.session.get(Blacklist, entry_id) if entry_id and len(entry_id) <= 36 else None
    if entry is None:
        raise NotFound("No such blacklist entry", code="blacklist_entry_not_found")
    return entry


def remove_entry(entry: Blacklist) -> None:
    db.session.delete(entry)
    db.session.flush()
