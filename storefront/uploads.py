"""Uploaded files (product images, branding) served from the storage folder."""
from flask import abort, current_app, send_from_directory

from . import bp


@bp.get("/uploads/<path:key>")
def upload(key: str):
    if ".." in key or key.startswith("/"):
        abort(404)
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], key, max_age=31536000)
    # stricter than the pages' policy, and kept over it (extensions.SecurityHeaders): an uploaded
    # file is never a document that runs or loads anything
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'"
    return response
