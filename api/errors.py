"""One error shape for the whole API: {"error": {"code", "message", "details"}}, and the error
answers every operation documents in the OpenAPI document (``document_errors``)."""
from __future__ import annotations

import logging
import re

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from services.errors import DomainError
from web import STORELESS_PREFIXES

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
    return envelope(error.status, error.message, code=error.code, details=error.details,
                    headers=error.response_headers())


def from_integrity(error: IntegrityError):
    log.info("integrity error answered as 409: %s", error.orig)
    return envelope(409, "That conflicts with existing data (it may already exist)", code="conflict")


# --- the errors in the OpenAPI document ----------------------------------------------------

# The envelope as the OpenAPI document shows it: every 4xx and 5xx answer of the API has this shape.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "description": "What went wrong, for programs (`not_found`, `insufficient_role`, ...)"},
            "message": {"type": "string", "description": "What went wrong, for people"},
            "details": {"type": "object", "description": "More about it: for a 422, the fields and what is wrong with each"},
        },
    }},
}

# What any request can be answered, whatever the view does (the view's own @doc says more where it knows more).
COMMON_ERRORS = {
    400: "A malformed request: a control character in the query string (`control_character`) or a body that "
         "is not valid JSON (`malformed_json`)",
    401: "No valid token where one is needed, or a bad one sent (`authentication_required`, `token_invalid`, ...)",
    403: "The caller's role is too low (`insufficient_role`)",
    404: "Nothing at this address: no such item, a path with a control character, or a host that names no store",
    409: "The change conflicts with existing data or with the current state",
    413: "The request body is too large",
    415: "The body is not JSON (`Content-Type: application/json`, or multipart where an operation takes files)",
    422: "Invalid input: `details` names the fields and what is wrong with each",
    429: "Too many requests from this address; try again after `Retry-After` seconds",
    503: "The store is suspended (`store_suspended`), the platform has no store yet (`no_store`), or the "
         "database is busy (`busy`, with `Retry-After`)",
}
ROLE_LEVELS = ("staff", "manager", "admin", "sysadmin")  # api.access levels above a signed-in user
UNSAFE = ("post", "put", "patch", "delete")


def _errors_of(method: str, path: str, operation: dict, view) -> list[int]:
    """The COMMON_ERRORS an operation can answer, from where it lives and how its view is guarded."""
    level = getattr(view, "_access", "public")
    codes = [400]
    if not path.startswith(STORELESS_PREFIXES):
        codes += [404, 503]  # the host names no store; the store is suspended
    elif "{" in path:
        codes.append(404)
    if level != "public":
        codes.append(401)
    if level in ROLE_LEVELS:
        codes.append(403)
    if method in UNSAFE:
        codes += [409, 415]
    if "requestBody" in operation:
        codes += [413, 422]
    if any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
        codes.append(422)
    if getattr(view, "_rate_limited", False):
        codes.append(429)
    return codes


def document_errors(app: APIFlask) -> None:
    """Add to every operation of the OpenAPI document the error answers it can give, each with the
    envelope (``ERROR_SCHEMA``), so that a client (and schemathesis, tests/api/test_fuzz_openapi.py)
    knows every status an operation may answer. What a view documents itself stays as it is."""
    app.config["HTTP_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_SCHEMA"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}

    @app.spec_processor
    def _document(spec: dict) -> dict:
        views = {}
        for rule in app.url_map.iter_rules():
            path = re.sub(r"<(?:[^<:]+:)?([^<>]+)>", r"{\1}", rule.rule)
            for method in rule.methods:
                views[(method.lower(), path)] = app.view_functions[rule.endpoint]
        spec["components"]["schemas"].setdefault("HTTPError", ERROR_SCHEMA)
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if method not in ("get", *UNSAFE):
                    continue
                responses = operation.setdefault("responses", {})
                for status in _errors_of(method, path, operation, views.get((method, path))):
                    responses.setdefault(str(status), {"description": COMMON_ERRORS[status], "content": error})
        return spec
