"""Staff, admin and sysadmin dashboards."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import (  # noqa: E402,F401
    analytics,
    audit,
    blacklist,
    campaigns,
    categories,
    coupons,
    dashboard,
    orders,
    payments,
    products,
    replacements,
    reviews,
    stock,
    users,
)
from . import appearance as appearance_pages  # noqa: E402,F401
from . import pages as cms_pages  # noqa: E402,F401
from . import settings as settings_pages  # noqa: E402,F401
