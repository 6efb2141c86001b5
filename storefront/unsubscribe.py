"""One-click unsubscribe (RFC 8058) from campaign emails, without signing in.

``GET /unsubscribe/<token>`` shows what the link does and a button; ``POST`` unsubscribes (the
button, or the mail provider's one-click ``List-Unsubscribe=One-Click`` POST). The view is exempt
from CSRF: a mail provider has no token to send, and the signed token in the URL is the authority
(``services.preferences.user_for_token``: store + user + purpose, refused when forged, altered,
of another store, or of an account that is gone). Unsubscribing twice is harmless.
"""
from __future__ import annotations

from flask import g, make_response, render_template, request

from services import preferences as preference_service
from web import csrf_exempt, private

from . import bp


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf_exempt
def unsubscribe(token: str):
    user = preference_service.user_for_token(token, g.store.id)
    shown = _masked(user.email)  # whoever holds a forwarded email learns no full address
    if request.method == "POST":
        preference_service.unsubscribe(user)
        page = render_template("storefront/unsubscribe.html", done=True, email=shown)
    else:
        page = render_template("storefront/unsubscribe.html", done=False, email=shown, token=token)
    return private(make_response(page), secret_url=True)


def _masked(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}{'•' * 3}@{domain}"
