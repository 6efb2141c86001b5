"""Seed B account routes (Group 3: the signed-in user): personal data, profile changes."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import account as account_service
from services import auth as auth_service
from services import orders as order_service
from services.errors import Invalid

from .access import access, require_user
from .orders import orders_out
from .schemas.account import PersonalOut, ProfileUpdateIn
from .schemas.auth import UserOut

bp = APIBlueprint("api_account", __name__, url_prefix="/api", tag="Account")

RECENT_ORDERS = 5


@bp.get("/user/personal")
@access("user")
@bp.output(PersonalOut)
def personal():
    """Seed B: the signed-in user's profile, balance (major units, with `currency`) and their
    latest orders (`recent_orders`, newest first, without deliverables) with `order_count`."""
    user = require_user()
    page = order_service.list_orders(buyer_id=user.id, page=1, page_size=RECENT_ORDERS)
    return PersonalOut(**UserOut.of(user, g.store).model_dump(), order_count=page["total"],
                       recent_orders=orders_out(page["items"]))


@bp.put("/user/profile/update")
@access("user")
@bp.input(ProfileUpdateIn, arg_name="body")
@bp.output(UserOut)
@bp.doc(responses={409: "The email is used by another account of this store (`email_taken`)",
                   422: "Wrong `current_password`, an invalid email, a weak password, or nothing to change"})
def update_profile(body: ProfileUpdateIn):
    """Seed B: change the signed-in user's `email` and/or `password`, confirmed with `current_password`.

    An email is unique per store (409 `email_taken`). Answers the user.
    """
    user = require_user()
    if body.email is None and body.password is None:
        raise Invalid("Send a new email or a new password", code="nothing_to_change",
                      details={"email": ["email or password required"]})
    if body.email is not None:
        account_service.change_email(user, body.email, body.current_password)
    if body.password is not None:
        auth_service.change_password(user, body.current_password, body.password)
    return UserOut.of(user, g.store)
