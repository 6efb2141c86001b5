"""The audit log page (Admin, as ``GET /api/admin/audit-log``): the store's entries newest first,
filtered by resource type, action, actor and dates (an HTMX table like the coupons and orders
lists); each entry opens to its before/after."""
from __future__ import annotations

from datetime import date

from flask import render_template, request

from models import Role
from services import audit as audit_service
from services.errors import Invalid
from services.pagination import envelope
from web import page_arg, role_required, shown_money, wants_fragment

from . import bp


def _day(name: str) -> tuple[str, date | None, str | None]:
    text = (request.args.get(name) or "").strip()[:10]
    if not text:
        return "", None, None
    try:
        return text, date.fromisoformat(text), None
    except ValueError:
        return text, None, f"{text!r} is not a date (YYYY-MM-DD)"


def shown(value):
    """An amount in the store's money format (``€5.50``), a percentage as ``15%``, inside whatever
    holds them; everything else as stored."""
    if isinstance(value, audit_service.Money):
        return shown_money(value.minor, value.currency)
    if isinstance(value, audit_service.Percent):
        return f"{value.percent:g}%"
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shown(item) for item in value]
    return value


def sides_of(changes: dict) -> list[tuple[str, object, object]]:
    """(field, before, after) rows of an entry's changes (``audit.with_units``: amounts in the
    store's money format), for the table; a named action's details (a stock import's summary)
    show as "after"."""
    changes = shown(changes or {})
    if not ({"before", "after"} & changes.keys()):
        return [(key, None, value) for key, value in changes.items()]
    before, after = changes.get("before") or {}, changes.get("after") or {}
    return [(key, before.get(key), after.get(key)) for key in list(dict.fromkeys([*before, *after]))]


@bp.get("/audit-log")
@role_required(Role.ADMIN)
def audit_log():
    resource_type = (request.args.get("resource_type") or "").strip()[:40]
    action = (request.args.get("action") or "").strip()[:40]
    user_id = (request.args.get("user_id") or "").strip()[:36]
    date_from_text, date_from, error_from = _day("date_from")
    date_to_text, date_to, error_to = _day("date_to")
    errors = [e for e in (error_from, error_to) if e]
    try:
        results = audit_service.list_entries(resource_type=resource_type or None, action=action or None,
                                             user_id=user_id or None, date_from=date_from, date_to=date_to,
                                             page=page_arg(), page_size=50)
    except Invalid as exc:
        errors.append(exc.message)
        results = envelope([], page=1, page_size=50, total=0)
    in_units = audit_service.with_units(results["items"])
    context = {"results": results, "resource_type": resource_type, "action": action, "user_id": user_id,
               "date_from": date_from_text, "date_to": date_to_text, "errors": errors,
               "sides": lambda entry: sides_of(in_units[entry.id].changes),
               "filtered": any((resource_type, action, user_id, date_from_text, date_to_text))}
    if wants_fragment():
        return render_template("admin/audit/_table.html", **context)
    context.update(resource_types=audit_service.resource_types(), actions=audit_service.actions(),
                   actors=audit_service.actors())
    return render_template("admin/audit/index.html", **context)
