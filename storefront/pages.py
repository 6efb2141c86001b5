"""CMS pages in the shop: /pages/<slug> (active pages; staff may preview an inactive one)."""
from __future__ import annotations

from flask import render_template
from flask_login import current_user

from models import Role
from services import pages as page_service

from . import bp


@bp.get("/pages/<slug>")
def cms_page(slug: str):
    staff = current_user.is_authenticated and Role(current_user.role).at_least(Role.MANAGER)
    page = page_service.page_by_slug(slug, include_inactive=staff)
    return render_template("storefront/page.html", page=page)
