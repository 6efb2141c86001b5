"""One error shape for the whole API: {"error": {"code", "message", "details"}}."""
from __future__ import annotations

import logging

from apiflask.exceptions import HTTPError
from flask import jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from services.errors import DomainError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
    500: "internal_error", 503: "unavailable",
}
MESSAGES = {
    404: "Nothing was found at this address",
    405: "This method is not allowed here",
    413: "The request body is too large",
    429: "Too many requests; slow down and try again shortly",
    500: "Something went wrong on our side; it has been logged",
}


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def envelope(status: int, message: str, *, code: str | None = None, details: dict | None = None, headers=None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "details": details or {}}}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_apiflask(error: HTTPError):
    """APIFlask's own errors (validation, abort) in our envelope."""
    extra = error.extra_data or {}
    details = error.detail if isinstance(error.detail, dict) else {}
    if error.status_code == 422 and details:
        # {"json": {"field": ["msg"]}} -> {"fields": {"field": ["msg"]}, "location": "json"}
        location, fields = next(iter(details.items()))
        details = {"location": location, "fields": fields}
        message = "Some fields are missing or invalid: " + ", ".join(sorted(fields)) if isinstance(fields, dict) else error.message
    else:
        message = error.message or MESSAGES.get(error.status_code, "Request failed")
    return envelope(error.status_code, message, code=extra.get("code"), details=details, headers=error.headers)


def from_http_exception(error: HTTPException):
    status = error.code or 500
    message = MESSAGES.get(status) or (error.description or error.name)
    if status == 400 and getattr(error, "description", None):
        message = error.description
    if status == 429 and getattr(error, "description", None):
        message = f"Too many requests ({error.description}); try again shortly"
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    retry = getattr(error, "retry_after", None)
    if retry:
        headers["Retry-After"] = str(retry)
    return envelope(status, message, code=getattr(error, "error_code", None), headers=headers)


def from_domain(error: DomainError):
    return envelope(error.status, error.message, code=error.code, details=error.details)


def from_integrity(error: IntegrityError):
    log.info("integrity error answered as 409: %s", error.orig)
    return envelope(409, "That conflicts with existing data (it may already exist)", code="conflict")
