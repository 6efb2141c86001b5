"""The signed-in customer's notification preferences (Seed A: ``/api/customers/me/preferences``).
Optional email only: campaigns (``marketing_emails``, ``product_news``); order, payment, refund,
replacement and password emails are always sent (``services/preferences.py``)."""
from __future__ import annotations

from apiflask import APIBlueprint

from services import preferences as preference_service
from services.errors import Invalid

from .access import access, require_user
from .schemas.campaigns import PreferencesIn, PreferencesOut

bp = APIBlueprint("api_preferences", __name__, url_prefix="/api/customers/me", tag="Account")


@bp.get("/preferences")
@access("user")
@bp.output(PreferencesOut)
def get_preferences():
    """Your email preferences: `marketing_emails` and `product_news` (both on until you choose;
    every campaign email also has a one-click unsubscribe link)."""
    return PreferencesOut(**preference_service.get_preferences(require_user()))


@bp.put("/preferences")
@access("user")
@bp.input(PreferencesIn, arg_name="body")
@bp.output(PreferencesOut)
@bp.doc(responses={422: "Not a boolean, an unknown field, or nothing to change"})
def update_preferences(body: PreferencesIn):
    """Change your email preferences: send `marketing_emails` and/or `product_news` (true/false)."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise Invalid("Send marketing_emails and/or product_news", code="nothing_to_change",
                      details={"marketing_emails": ["true or false"], "product_news": ["true or false"]})
    return PreferencesOut(**preference_service.update_preferences(require_user(), changes, via="api"))
