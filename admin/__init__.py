"""Staff, admin and sysadmin dashboards."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    categories,
    dashboard,
    orders,
    payments,
    products,
    replacements,
    reviews,
    settings,  # noqa: E402,F401
    stock,
    users,
)
