"""Extensions, created unbound; ``create_app`` binds them."""
from __future__ import annotations

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect

from models.base import Base, UTCDateTime

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def _render_item(type_, obj, autogen_context):
    """Migrations use plain SQLAlchemy types, never our own classes."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


migrate = Migrate(render_as_batch=True, compare_type=True, render_item=_render_item)
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
limiter = Limiter(key_func=get_remote_address)  # per client IP
jwt = JWTManager()  # API tokens; its loaders (who, revoked, errors) live in api.access


class SecurityHeaders(Talisman):
    """Flask-Talisman, except that a header the response already carries stays: Talisman would
    overwrite it, and a few responses need a stricter one (an upload's own CSP, a secret link's
    ``Referrer-Policy: no-referrer``)."""

    OWN_HEADERS = ("Content-Security-Policy", "Referrer-Policy", "X-Frame-Options")

    def _set_response_headers(self, response):
        own = {name: response.headers[name] for name in self.OWN_HEADERS if name in response.headers}
        response = super()._set_response_headers(response)
        for name, value in own.items():
            response.headers[name] = value
        return response


security_headers = SecurityHeaders()  # bound, with the policy, by web.register_security_headers
