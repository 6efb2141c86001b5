"""File uploads in the API: multipart bodies, size limits, and bodies that may be JSON or multipart."""
from __future__ import annotations

from functools import wraps

from apiflask.exceptions import HTTPError
from flask import current_app, request
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import FileStorage

from services.errors import Invalid


def too_large(limit: int, what: str = "The file") -> Invalid:
    size = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
    return Invalid(f"{what} may be at most {size}", code="file_too_large", details={"file": ["too large"]},
                   status=413)


def multipart(f):
    """Mark a view as taking multipart bodies (``api._check_body`` lets them through). Put it
    innermost: ``functools.wraps`` carries the mark out through every decorator above."""
    f._accepts_multipart = True
    return f


def read_upload(upload: FileStorage | None, limit: int, *, required: bool = True) -> bytes | None:
    """The bytes of an uploaded file, reading at most ``limit`` + 1 so a huge file is refused (413)
    without holding it. A body above MAX_CONTENT_LENGTH is refused by werkzeug before this (413)."""
    if upload is None:
        if required:
            raise Invalid("Send the file as the multipart field 'file'", code="file_required",
                          details={"file": ["required"]})
        return None
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data


def _validation_error(error: ValidationError, location: str) -> HTTPError:
    fields: dict[str, list[str]] = {}
    for item in error.errors():
        fields.setdefault(".".join(str(p) for p in item["loc"]) or "_schema", []).append(item["msg"])
    return HTTPError(422, "Validation error", detail={location: fields})


def json_or_multipart(model: type[BaseModel], *, arg_name: str = "body"):
    """Validate a JSON body, or multipart form fields, against ``model`` (the view reads any file
    itself with ``read_upload``).

    Documents both request content types in the OpenAPI operation and lets multipart through
    ``api._check_body`` (``_accepts_multipart``).
    """

    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            if request.mimetype == "multipart/form-data":
                data = {k: v for k, v in request.form.items() if v != ""}
                location = "form"
            else:
                data = request.get_json(silent=False)
                data = {} if data is None else data
                location = "json"
            if not isinstance(data, dict):
                raise HTTPError(422, "The body must be a JSON object", detail={location: {"_schema": ["not an object"]}})
            try:
                kwargs[arg_name] = model.model_validate(data)
            except ValidationError as error:
                raise _validation_error(error, location) from error
            return f(*args, **kwargs)

        spec = dict(getattr(f, "_spec", {}))
        spec.update(body=model, content_type=["application/json", "multipart/form-data"])
        wrapper._spec = spec
        wrapper._accepts_multipart = True
        return wrapper

    return decorator


def upload_limit(key: str) -> int:
    return int(current_app.config[key])
