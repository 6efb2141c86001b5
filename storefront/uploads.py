"""Uploaded files (product images, branding) served from the storage folder."""
from flask import abort, current_app, g, request, send_from_directory

from services.stores import serves_upload

from . import bp


@bp.get("/uploads/<path:key>")
def upload(key: str):
    if ".." in key or key.startswith("/"):
        abort(404)
    if not serves_upload(key.split("/", 1)[0], g.get("store"), request.host):
        abort(404)  # another store's file on this store's address, or a deleted store's
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], key, max_age=31536000)
    # stricter than the pages' policy, and kept over it (extensions.SecurityHeaders): an uploaded
    # file is never a document that runs or loads anything
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return response
