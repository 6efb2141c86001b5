"""Domain exceptions. Each blueprint maps them in one handler (JSON envelope or form message)."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None, status: int | None = None,
                 amounts: dict[str, tuple[int, str]] | None = None):
        """``amounts`` (name: (minor units, currency)) fill the ``{name}`` marks of ``message`` and of
        the ``details``' texts: ``message`` and ``details`` state them as the API does ("54.89 EUR",
        ``money.format_money``); ``said(money)`` as a page does (``web.shown_money``, "€54.89")."""
        self.amounts = amounts or {}
        self._said = (message, details or {})
        if self.amounts:
            from .money import format_money  # (money imports this module)

            message, details = self.said(format_money)
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}

    def said(self, money) -> tuple[str, dict]:
        """The message and details with each amount written by ``money(minor, currency)``."""
        message, details = self._said
        if not self.amounts:
            return self.message, self.details

        def fill(text):
            if not isinstance(text, str):
                return text
            for name, (minor, currency) in self.amounts.items():
                text = text.replace("{" + name + "}", money(minor, currency))
            return text

        return fill(message), {key: [fill(t) for t in value] if isinstance(value, list) else fill(value)
                               for key, value in details.items()}


class Invalid(DomainError):
    status = 422
    code = "validation_error"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unavailable(DomainError):
    status = 503
    code = "store_unavailable"
