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

    def response_headers(self) -> dict:
        """Headers the answer carries, page or API (a 503's ``Retry-After``)."""
        seconds = getattr(self, "retry_after", None)
        return {"Retry-After": str(seconds)} if seconds else {}


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
    retry_after = 3600  # seconds: the ``Retry-After`` header of the answer (page and API)


class FieldProblems:
    """Collect the refusals of a form's field checks so the shopper hears of every field in one
    answer, not one per submit::

        problems = FieldProblems()
        username = problems.check(check_username, raw_username)  # None when refused
        ...
        problems.raise_any()

    ``raise_any`` raises the first refusal's class, code and status (the one the checks in their
    order would have raised alone) with every refused field in ``details``: a refusal about one
    field gives it its own sentence (what a form showed next to that field when it came alone)."""

    def __init__(self) -> None:
        self.errors: list[Invalid | Conflict] = []

    def check(self, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (Invalid, Conflict) as error:
            self.errors.append(error)
            return None

    def add(self, error: Invalid | Conflict) -> None:
        self.errors.append(error)

    def raise_any(self) -> None:
        if not self.errors:
            return
        first = self.errors[0]
        if len(self.errors) == 1:
            raise first
        details: dict = {}
        for error in self.errors:
            fields = error.details or {}
            for name, messages in fields.items():
                if len(fields) == 1:
                    messages = [error.message]
                elif not isinstance(messages, list | tuple):
                    messages = [messages]
                details[name] = details.get(name, []) + list(messages)
        raise type(first)("Several fields need a change: each one says why.", code=first.code,
                          details=details, status=first.status)
