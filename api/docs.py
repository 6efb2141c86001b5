"""The API's readable docs: Swagger UI at /api/docs, from the vendored assets.

APIFlask's own docs page initialises Swagger UI in an inline <script>, which the CSP refuses
(web.CONTENT_SECURITY_POLICY), so this page replaces it (``docs_path=None`` in app.py): the same
assets, with the initialisation in static/js/api-docs.js and the spec's address in a data attribute.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import current_app, render_template

bp = APIBlueprint("api_docs", __name__, url_prefix="/api", enable_openapi=False)


@bp.get("/docs")
def docs():
    return render_template("api/docs.html", title=current_app.title, version=current_app.version)
