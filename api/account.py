"""The signed-in customer's own account: Seed B (Group 3: personal data, profile changes) and Seed A
"Customers" self-service (``/api/customers/me``: profile, password, data export, deletion)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, jsonify, request

from services import account as account_service
from services import auth as auth_service
from services import orders as order_service
from services.errors import Invalid
from services.money import to_major

from .access import access, require_user
from .orders import orders_out
from .schemas.account import DeleteAccountIn, MeOut, MeUpdateIn, PasswordChangeIn, PersonalOut, ProfileUpdateIn
from .schemas.auth import TokensOut, UserOut
from .schemas.common import Message

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


# --- Seed A self-service: /api/customers/me (the routes of another user are /api/customers/{id}) ---

def _me(user) -> MeOut:
    return MeOut(**account_service.profile(user), balance=to_major(user.balance, g.store.currency),
                 currency=g.store.currency)


@bp.get("/customers/me")
@access("user")
@bp.output(MeOut)
def get_me():
    """Your profile: `full_name` (also as `name`), `username`, `email`, `phone`, `locale`."""
    return _me(require_user())


@bp.put("/customers/me")
@access("user")
@bp.input(MeUpdateIn, arg_name="body")
@bp.output(MeOut)
@bp.doc(responses={409: "The username is used by another account of this store (`username_taken`)",
                   422: "An invalid username, phone (`invalid_phone`) or locale (`invalid_locale`), "
                        "or nothing to change"})
def update_me(body: MeUpdateIn):
    """Change your profile: `full_name` (or `name`), `username`, `phone`, `locale` (only those sent;
    the email changes with `PUT /api/user/profile/update`, which asks for the password)."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("Send full_name, username, phone or locale", code="nothing_to_change",
                      details={"full_name": ["one field at least"]})
    return _me(account_service.update_profile(require_user(), changes))


@bp.put("/customers/me/password")
@access("user")
@bp.input(PasswordChangeIn, arg_name="body")
@bp.output(TokensOut)
@bp.doc(responses={422: "Wrong `current_password` (`wrong_password`) or a weak `new_password`"})
def change_my_password(body: PasswordChangeIn):
    """Change your password (`current_password`, `new_password`). Every other session and token of
    the account ends, this request's token too: the answer carries fresh tokens."""
    user = account_service.change_password(require_user(), body.current_password, body.new_password)
    return {**auth_service.issue_tokens(user), "user": UserOut.of(user, g.store)}


@bp.get("/customers/me/data-export")
@access("user")
@bp.doc(responses={200: "All your personal data as JSON (GDPR Art. 15, 20): `profile`, `orders` (with "
                        "`lines`, their delivered `items`, and `adjustments`), `addresses`, `reviews`, "
                        "`balance_ledger`, `top_ups`, `replacement_requests`, `email_preferences`, "
                        "`campaign_emails`, `cart`, and the store's `currency`: amounts are numbers in its major "
                        "units (49.99), as everywhere in the API."})
def export_my_data():
    """Download everything the store keeps about you, as one JSON document (also on the account
    page, "Download my data"). Deliverables show as on your order page (only paid orders)."""
    data = account_service.export_data(require_user(), ip=request.remote_addr)
    response = jsonify(data)
    response.headers["Content-Disposition"] = "attachment; filename=my-data.json"
    return response


@bp.delete("/customers/me")
@access("user")
@bp.input(DeleteAccountIn, arg_name="body")
@bp.output(Message)
@bp.doc(responses={409: "An order or top-up awaits payment (`payment_pending`) or a replacement request is "
                        "open (`replacement_open`)",
                   422: "Wrong `password` (`wrong_password`)"})
def delete_me(body: DeleteAccountIn):
    """Delete your account (GDPR Art. 17), confirmed with your `password`. Your personal data is
    erased and the account anonymised; orders and balance rows stay for the store's books without
    your data; every token and session ends."""
    account_service.delete_account(require_user(), body.password)
    return Message(message="Your account was deleted")
