"""Moloni (moloni.pt, certified Portuguese invoicing): the one place its HTTP shape lives.

Sources read: Moloni's public API v1 reference (www.moloni.pt/dev, "Autenticação" and the
per-endpoint pages) as quoted by public clients (python-moloni on PyPI, Moloni's own WooCommerce
plugin moloni-pt/woocommerce, Moloni's API changelog). Nothing here is copied from them; each
assumption below is what those sources agree on, and "UNCONFIRMED" marks what none of them shows.

Assumptions:
  * API base ``https://api.moloni.pt/v1/`` (``MOLONI_API_URL``); the page where an admin authorises
    the app ``https://api.moloni.pt/v1/authorize/`` (``MOLONI_AUTH_URL``) with
    ``response_type=code``, ``client_id``, ``redirect_uri`` and ``state``. That Moloni sends
    ``state`` back on the redirect is the OAuth2 rule (RFC 6749 4.1.2), UNCONFIRMED for Moloni.
  * Tokens: ``grant/`` with ``grant_type=authorization_code`` (``client_id``, ``client_secret``,
    ``redirect_uri``, ``code``) or ``grant_type=refresh_token`` (``client_id``, ``client_secret``,
    ``refresh_token``), sent as query parameters of a POST (Moloni's examples use GET; both are
    served). Answer ``{"access_token", "expires_in" (3600), "token_type", "scope",
    "refresh_token"}``; the refresh token lasts 14 days (``REFRESH_TOKEN_DAYS``) and each refresh
    hands out a new one. A refused grant is ``{"error", "error_description"}`` (400).
  * Calls: ``POST {resource}/{method}/?access_token=...`` with a form-encoded body whose lists and
    objects use PHP's bracket keys (``products[0][taxes][0][tax_id]=1``). Answers are JSON: a list
    (``getAll``, ``getByVat``, ...), an object (``getOne``, ``getPDFLink``), or for ``insert``
    ``{"valid": 1, "document_id"|"customer_id"|"product_id"|"category_id": N}``. A refused call
    answers HTTP 200 with a list of ``{"code", "description"}`` objects (validation) or
    ``{"valid": 0, ...}``; an expired token is HTTP 401 ``{"error": "invalid_token"}``.
  * Endpoints used: ``companies/getAll``, ``documentSets/getAll``, ``taxes/getAll``,
    ``measurementUnits/getAll``, ``productCategories/getAll``/``insert``,
    ``products/getByReference``/``insert``, ``customers/getByVat``/``insert``,
    ``invoices/insert``/``getAll``/``getOne``, ``creditNotes/insert``/``getAll``/``getOne``,
    ``documents/getPDFLink`` (``{"url"}``). Every call but ``companies/getAll`` names ``company_id``.
  * Lookup by our reference: ``invoices/getAll`` and ``creditNotes/getAll`` filter on
    ``our_reference`` (the documented filter list names it), so a retried job finds the document a
    lost answer created before inserting another.
  * Documents: ``date`` and ``expiration_date`` as ``YYYY-MM-DD``; ``status=1`` closes (certifies)
    the document; line ``price`` is the unit price before tax in euros, ``discount`` a percentage,
    ``taxes`` a list of ``{tax_id, value, order, cumulative}`` or, with no tax, an
    ``exemption_reason`` (an AT code such as ``M07``). A credit note names the invoice in
    ``associated_documents[{associated_id, value}]`` and each line's ``related_id``
    (the invoice line's ``document_product_id``; UNCONFIRMED, so it is sent only when known).
  * Customers are found by VAT number (``customers/getByVat``); a buyer with none is billed as the
    final consumer, NIF ``999999990`` (AT's rule). Moloni documents are in euros: other currencies
    are refused by the service before any call.

Nothing here imports the app: only the standard library, ``requests`` and ``integrations.base``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from integrations.base import ProviderError

DEFAULT_API_URL = "https://api.moloni.pt/v1/"
DEFAULT_AUTH_URL = "https://api.moloni.pt/v1/authorize/"
FINAL_CONSUMER_VAT = "999999990"
REFRESH_TOKEN_DAYS = 14
USER_AGENT = "virtual-stores-moloni/1"


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives


def flatten(data: Mapping, prefix: str = "") -> list[tuple[str, str]]:
    """PHP-style form fields: ``{"a": [{"b": 1}]}`` -> ``[("a[0][b]", "1")]``."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            pairs.extend(flatten(value, name))
        elif isinstance(value, (list, tuple)):
            pairs.extend(flatten({str(i): v for i, v in enumerate(value)}, name))
        elif value is None:
            continue
        elif isinstance(value, bool):
            pairs.append((name, "1" if value else "0"))
        else:
            pairs.append((name, str(value)))
    return pairs


def authorize_url(auth_url: str, *, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{auth_url}{'&' if '?' in auth_url else '?'}{query}"


def _error_text(body) -> str:
    if isinstance(body, list):
        parts = [f"{e.get('description') or e.get('code')}" for e in body if isinstance(e, Mapping)]
        return "; ".join(p for p in parts if p) or "refused"
    if isinstance(body, Mapping):
        return str(body.get("error_description") or body.get("error") or body.get("message") or "refused")
    return "refused"


class MoloniClient:
    """One store's calls, with its access token (``None`` for the token grants only)."""

    def __init__(self, *, api_url: str = DEFAULT_API_URL, access_token: str | None = None, timeout: float = 15.0,
                 session: requests.Session | None = None):
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.access_token = access_token
        self.timeout = timeout
        self.http = session or requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT

    # --- transport ---------------------------------------------------------------------------

    def _send(self, url: str, *, params: dict, form: list[tuple[str, str]] | None = None):
        try:
            response = self.http.post(url, params=params, data=form or None, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ProviderError(f"Moloni could not be reached ({exc.__class__.__name__})", retryable=True) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderError(f"Moloni answered {response.status_code}", retryable=True,
                                code=str(response.status_code))
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderError(f"Moloni answered {response.status_code} without JSON", retryable=True) from exc
        if response.status_code in (401, 403):
            raise ProviderError(f"Moloni refused the authorisation: {_error_text(body)}", code="unauthorized")
        if response.status_code >= 400:
            raise ProviderError(f"Moloni refused it: {_error_text(body)}", code=str(response.status_code))
        return body

    def call(self, resource: str, method: str, data: Mapping | None = None):
        if not self.access_token:
            raise ProviderError("Not connected to Moloni", code="unauthorized")
        body = self._send(f"{self.api_url}{resource}/{method}/", params={"access_token": self.access_token},
                          form=flatten(data or {}))
        if isinstance(body, list) and body and all(isinstance(e, Mapping) and "code" in e and "description" in e
                                                    for e in body):
            raise ProviderError(f"Moloni refused {resource}/{method}: {_error_text(body)}", code="invalid")
        if isinstance(body, Mapping) and str(body.get("valid", "1")) == "0":
            raise ProviderError(f"Moloni refused {resource}/{method}: {_error_text(body.get('errors') or body)}",
                                code="invalid")
        return body

    def _insert(self, resource: str, data: Mapping, key: str) -> int:
        body = self.call(resource, "insert", data)
        if not isinstance(body, Mapping) or not body.get(key):
            raise ProviderError(f"Moloni's answer to {resource}/insert has no {key}", code="invalid")
        return int(body[key])

    # --- tokens --------------------------------------------------------------------------------

    def _grant(self, params: dict) -> Tokens:
        body = self._send(f"{self.api_url}grant/", params=params)
        if not isinstance(body, Mapping) or not body.get("access_token") or not body.get("refresh_token"):
            raise ProviderError(f"Moloni refused the grant: {_error_text(body)}", code="invalid_grant")
        return Tokens(access_token=str(body["access_token"]), refresh_token=str(body["refresh_token"]),
                      expires_in=int(body.get("expires_in") or 3600))

    def exchange_code(self, *, client_id: str, client_secret: str, redirect_uri: str, code: str) -> Tokens:
        return self._grant({"grant_type": "authorization_code", "client_id": client_id,
                            "client_secret": client_secret, "redirect_uri": redirect_uri, "code": code})

    def refresh(self, *, client_id: str, client_secret: str, refresh_token: str) -> Tokens:
        return self._grant({"grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret,
                            "refresh_token": refresh_token})

    # --- reads -----------------------------------------------------------------------------------

    def companies(self) -> list[dict]:
        return [{"company_id": int(c["company_id"]), "name": str(c.get("name") or ""), "vat": c.get("vat")}
                for c in self.call("companies", "getAll") or []]

    def document_sets(self, company_id: int) -> list[dict]:
        return [{"document_set_id": int(s["document_set_id"]), "name": str(s.get("name") or "")}
                for s in self.call("documentSets", "getAll", {"company_id": company_id}) or []]

    def taxes(self, company_id: int) -> list[dict]:
        return [{"tax_id": int(t["tax_id"]), "name": str(t.get("name") or ""), "value": float(t.get("value") or 0)}
                for t in self.call("taxes", "getAll", {"company_id": company_id}) or []]

    def pdf_link(self, company_id: int, document_id: int) -> str:
        body = self.call("documents", "getPDFLink", {"company_id": company_id, "document_id": document_id})
        if not isinstance(body, Mapping) or not body.get("url"):
            raise ProviderError("Moloni gave no PDF link", code="invalid")
        return str(body["url"])

    # --- what a document needs ------------------------------------------------------------------------

    def category_id(self, company_id: int, name: str) -> int:
        for category in self.call("productCategories", "getAll", {"company_id": company_id, "parent_id": 0}) or []:
            if str(category.get("name")) == name:
                return int(category["category_id"])
        return self._insert("productCategories", {"company_id": company_id, "parent_id": 0, "name": name},
                            "category_id")

    def unit_id(self, company_id: int) -> int:
        units = self.call("measurementUnits", "getAll", {"company_id": company_id}) or []
        if not units:
            raise ProviderError("The Moloni company has no measurement unit", code="invalid")
        return int(units[0]["unit_id"])

    def product_id(self, company_id: int, *, reference: str, name: str, category_id: int, unit_id: int,
                   price: str, taxes: list[dict], exemption_reason: str | None) -> int:
        found = self.call("products", "getByReference", {"company_id": company_id, "reference": reference}) or []
        for product in found:
            if str(product.get("reference")) == reference:
                return int(product["product_id"])
        return self._insert("products", {
            "company_id": company_id, "category_id": category_id, "type": 2, "name": name[:250],
            "reference": reference, "price": price, "unit_id": unit_id, "has_stock": 0,
            "taxes": taxes, "exemption_reason": exemption_reason}, "product_id")

    def customer_id(self, company_id: int, *, vat: str, name: str, email: str | None, number: str) -> int:
        for customer in self.call("customers", "getByVat", {"company_id": company_id, "vat": vat}) or []:
            return int(customer["customer_id"])
        return self._insert("customers", {
            "company_id": company_id, "vat": vat, "number": number, "name": name[:150], "language_id": 1,
            "address": "Desconhecido", "zip_code": "1000-001", "city": "Desconhecido", "country_id": 1,
            "email": email or "", "maturity_date_id": 0, "payment_method_id": 0, "salesman_id": 0,
            "payment_day": 0, "discount": 0, "credit_limit": 0, "delivery_method_id": 0}, "customer_id")

    # --- documents ---------------------------------------------------------------------------------------

    def find_document(self, kind: str, company_id: int, our_reference: str) -> dict | None:
        """``kind``: ``invoices`` | ``creditNotes``. The document made earlier with our reference."""
        for doc in self.call(kind, "getAll", {"company_id": company_id, "our_reference": our_reference}) or []:
            if str(doc.get("our_reference")) == our_reference:
                return self._document(doc)
        return None

    def insert_document(self, kind: str, document: Mapping) -> int:
        return self._insert(kind, document, "document_id")

    def get_document(self, kind: str, company_id: int, document_id: int) -> dict:
        return self._document(self.call(kind, "getOne", {"company_id": company_id, "document_id": document_id}))

    @staticmethod
    def _document(doc) -> dict:
        if not isinstance(doc, Mapping) or not doc.get("document_id"):
            raise ProviderError("Moloni's document answer has no document_id", code="invalid")
        set_name = doc.get("document_set_name") or (doc.get("document_set") or {}).get("name") or ""
        number = doc.get("number")
        label = f"{set_name}/{number}" if set_name and number is not None else str(number or doc["document_id"])
        return {"document_id": int(doc["document_id"]), "number": label,
                "lines": [{"document_product_id": p.get("document_product_id"), "product_id": p.get("product_id")}
                          for p in doc.get("products") or [] if isinstance(p, Mapping)]}
