"""A small fake of Moloni's API v1 on 127.0.0.1, speaking the shapes ``integrations/moloni.py``
assumes (see the assumptions at its top).

In tests::

    with FakeMoloni() as fake:
        app.config.update(MOLONI_API_URL=fake.api_url, MOLONI_AUTH_URL=fake.auth_url, ...)
        fake.documents("invoices")        # what was inserted
        fake.fail_next("invoices/insert", status=503)   # one injected failure
        fake.lose_next_answer("invoices/insert")        # insert happens, the answer is a 503
        fake.refuse_next("invoices/insert", "Customer VAT is invalid")  # a validation error (HTTP 200)
        fake.allow(authorize_url)         # the admin clicks "allow": the callback URL to follow

What it serves:

* ``GET /v1/authorize/?response_type=code&client_id&redirect_uri&state``: a tiny HTML page, like
  Moloni's, where the admin allows (or refuses) the app; its form goes to ``/v1/authorize/allow/``,
  which answers 302 to ``redirect_uri?code=...&state=...`` (the state echoed), or
  ``?error=access_denied&state=...``. ``fake.allow(authorize_url)`` is that click, for tests without
  a browser.
* ``GET /downloads/index.php?action=getDownload&h=<document id>``: the document's PDF (where
  ``documents/getPDFLink`` points).
* ``POST|GET /v1/grant/``: ``authorization_code`` (a code is good once, for its redirect_uri) and
  ``refresh_token`` (each refresh token is good once and is replaced); wrong client credentials or
  a used code are a 400 ``{"error": "invalid_grant"}``. Access tokens last ``token_lifetime`` seconds.
* ``POST /v1/{resource}/{method}/?access_token=``: a form body with PHP bracket keys. An unknown or
  expired token is a 401 ``{"error": "invalid_token"}``. Validation errors are HTTP 200 with a list
  of ``{"code", "description"}``. Inserts answer ``{"valid": 1, "<thing>_id": N}``.
"""
from __future__ import annotations

import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import requests

CLIENT_ID = "moloni-test-client"
CLIENT_SECRET = "moloni-test-secret"
# a one-page PDF (what ``documents/getPDFLink``'s link downloads)
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """``a[0][b]=1`` -> ``{"a": [{"b": "1"}]}`` (numeric keys become lists)."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def fix(node):
        if isinstance(node, dict):
            fixed = {k: fix(v) for k, v in node.items()}
            if fixed and all(k.isdigit() for k in fixed):
                return [fixed[k] for k in sorted(fixed, key=int)]
            return fixed
        return node

    return fix(root)


@dataclass
class Call:
    path: str
    params: dict
    body: dict


@dataclass
class FakeMoloni:
    companies: list = field(default_factory=lambda: [{"company_id": 5, "name": "Loja Demo Lda", "vat": "500000000"}])
    token_lifetime: int = 3600
    host: str = "127.0.0.1"

    def __post_init__(self):
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self._codes: dict[str, str] = {}  # code -> redirect_uri
        self._access: dict[str, float] = {}  # token -> expiry
        self._refresh: set[str] = set()
        self._faults: dict[str, list[tuple[int, bool, object]]] = {}
        self._ids = iter(range(1000, 10**9))
        self.delays: dict[str, float] = {}  # endpoint -> seconds to wait before answering (races)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self._faults.clear()
            self.delays.clear()
            self.store = {"invoices": [], "creditNotes": [], "customers": [], "products": [],
                          "productCategories": []}
            self.document_sets = {5: [{"document_set_id": 11, "name": "A"}]}
            self.taxes = {5: [{"tax_id": 21, "name": "IVA Normal", "value": 23}]}

    # --- test helpers ------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1/"

    @property
    def auth_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1/authorize/"

    def documents(self, kind: str) -> list[dict]:
        with self.lock:
            return list(self.store[kind])

    def fail_next(self, endpoint: str, status: int = 503) -> None:
        with self.lock:
            self._faults.setdefault(endpoint, []).append((status, False, {"error": "unavailable"}))

    def refuse_next(self, endpoint: str, description: str) -> None:
        """The next call answers HTTP 200 with a validation error list (nothing is made)."""
        with self.lock:
            self._faults.setdefault(endpoint, []).append((200, False, [{"code": "2 invalid",
                                                                          "description": description}]))

    def allow(self, authorize_url: str) -> str:
        """What the admin's click on "allow" does: the callback URL Moloni sends the browser to."""
        page = requests.get(authorize_url, timeout=5)
        assert page.status_code == 200 and "allow" in page.text, page.text
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        answer = requests.get(f"{self.auth_url}allow/", params={"client_id": query.get("client_id", ""),
                                                                 "redirect_uri": query.get("redirect_uri", ""),
                                                                 "state": query.get("state", ""),
                                                                 "decision": "allow"},
                              allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def lose_next_answer(self, endpoint: str) -> None:
        """The call is carried out, but its answer is a 503 (a lost answer)."""
        with self.lock:
            self._faults.setdefault(endpoint, []).append((503, True, {"error": "unavailable"}))

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self._access:
                self._access[token] = 0

    def calls_to(self, endpoint: str) -> list[Call]:
        return [c for c in self.calls if c.path == endpoint]

    # --- server ---------------------------------------------------------------------------------

    def __enter__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body, headers: dict | None = None):
                headers = dict(headers or {})
                is_page = isinstance(body, (str, bytes))
                data = body if isinstance(body, bytes) else body.encode() if is_page else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", None)
                                 or ("text/html; charset=utf-8" if is_page else "application/json"))
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._handle()

            def do_POST(self):
                self._handle()

            def _handle(self):
                url = urlsplit(self.path)
                params = dict(parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                body = unflatten(parse_qsl(raw, keep_blank_values=True))
                status, answer, headers = fake._route(url.path, params, body)
                self._answer(status, answer, headers)

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # --- routes -----------------------------------------------------------------------------------

    def _route(self, path: str, params: dict, body: dict):
        path = path.removeprefix("/v1/").strip("/")
        with self.lock:
            self.calls.append(Call(path, params, body))
            fault = self._faults.get(path)
            fault = fault.pop(0) if fault else None
            delay = self.delays.get(path, 0)
        if delay:
            time.sleep(delay)
        if path == "authorize":
            return self._authorize_page(params)
        if path == "authorize/allow":
            if params.get("client_id") != CLIENT_ID or not params.get("redirect_uri"):
                return 400, "<!doctype html><title>Moloni</title><p>Unknown application.</p>", None
            if params.get("decision") != "allow":
                query = urlencode({"error": "access_denied", "state": params.get("state", "")})
            else:
                code = secrets.token_hex(8)
                with self.lock:
                    self._codes[code] = params["redirect_uri"]
                query = urlencode({"code": code, "state": params.get("state", "")})
            return 302, "", {"Location": f"{params['redirect_uri']}?{query}"}
        if path == "grant":
            return self._grant(params)
        if path == "downloads/index.php":
            with self.lock:
                return self._download(params)
        if fault and not fault[1]:
            return fault[0], fault[2], None
        token = params.get("access_token")
        with self.lock:
            expiry = self._access.get(token or "")
        if expiry is None or expiry < time.time():
            return 401, {"error": "invalid_token", "error_description": "The access token provided is invalid"}, None
        resource, _, method = path.partition("/")
        handler = getattr(self, f"_{resource}_{method}", None)
        if handler is None:
            return 404, {"error": "not_found"}, None
        with self.lock:
            status, answer = handler(body)
        if fault:  # carried out, answer lost
            return fault[0], {"error": "unavailable"}, None
        return status, answer, None

    def _authorize_page(self, params: dict):
        """Moloni's page where a signed-in Moloni user allows the app (here: no sign-in)."""
        if params.get("response_type") != "code" or params.get("client_id") != CLIENT_ID \
                or not params.get("redirect_uri"):
            return 400, "<!doctype html><title>Moloni</title><p>Invalid authorization request.</p>", None
        hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
                         for name in ("client_id", "redirect_uri", "state"))
        page = ('<!doctype html><html lang="pt"><head><meta charset="utf-8"><title>Moloni - Autorizar</title>'
                '<link rel="icon" href="data:,">'
                '</head><body><main><h1>Moloni</h1><p>The application wants to access your Moloni account '
                '(allow or refuse).</p>'
                f'<form method="get" action="/v1/authorize/allow/">{hidden}'
                '<button type="submit" name="decision" value="allow" id="allow">Autorizar</button> '
                '<button type="submit" name="decision" value="deny" id="deny">Recusar</button>'
                '</form></main></body></html>')
        return 200, page, None

    def _grant(self, params: dict):
        if params.get("client_id") != CLIENT_ID or params.get("client_secret") != CLIENT_SECRET:
            return 400, {"error": "invalid_client", "error_description": "bad client credentials"}, None
        with self.lock:
            if params.get("grant_type") == "authorization_code":
                redirect = self._codes.pop(params.get("code", ""), None)
                if redirect is None or redirect != params.get("redirect_uri"):
                    return 400, {"error": "invalid_grant", "error_description": "bad code"}, None
            elif params.get("grant_type") == "refresh_token":
                if params.get("refresh_token") not in self._refresh:
                    return 400, {"error": "invalid_grant", "error_description": "bad refresh token"}, None
                self._refresh.discard(params["refresh_token"])
            else:
                return 400, {"error": "unsupported_grant_type"}, None
            access, refresh = secrets.token_hex(16), secrets.token_hex(16)
            self._access[access] = time.time() + self.token_lifetime
            self._refresh.add(refresh)
        return 200, {"access_token": access, "expires_in": self.token_lifetime, "token_type": "bearer",
                     "scope": None, "refresh_token": refresh}, None

    # resources (called with the lock held) ------------------------------------------------------------

    @staticmethod
    def _invalid(field_name: str):
        return 200, [{"code": "2 " + field_name, "description": f"{field_name} is required"}]

    def _companies_getAll(self, body):  # noqa: N802 - Moloni's names
        return 200, self.companies

    def _documentSets_getAll(self, body):  # noqa: N802
        return 200, self.document_sets.get(int(body.get("company_id") or 0), [])

    def _taxes_getAll(self, body):  # noqa: N802
        return 200, self.taxes.get(int(body.get("company_id") or 0), [])

    def _measurementUnits_getAll(self, body):  # noqa: N802
        return 200, [{"unit_id": 7, "name": "Unidade", "short_name": "Un."}]

    def _productCategories_getAll(self, body):  # noqa: N802
        return 200, list(self.store["productCategories"])

    def _productCategories_insert(self, body):  # noqa: N802
        if not body.get("name"):
            return self._invalid("name")
        row = {"category_id": next(self._ids), "name": body["name"]}
        self.store["productCategories"].append(row)
        return 200, {"valid": 1, "category_id": row["category_id"]}

    def _products_getByReference(self, body):  # noqa: N802
        return 200, [p for p in self.store["products"] if p["reference"] == body.get("reference")]

    def _products_insert(self, body):  # noqa: N802
        for name in ("category_id", "name", "reference", "price", "unit_id"):
            if not body.get(name):
                return self._invalid(name)
        if not body.get("taxes") and not body.get("exemption_reason"):
            return self._invalid("exemption_reason")
        row = {**body, "product_id": next(self._ids)}
        self.store["products"].append(row)
        return 200, {"valid": 1, "product_id": row["product_id"]}

    def _customers_getByVat(self, body):  # noqa: N802
        return 200, [c for c in self.store["customers"] if c["vat"] == body.get("vat")]

    def _customers_insert(self, body):  # noqa: N802
        for name in ("vat", "number", "name"):
            if not body.get(name):
                return self._invalid(name)
        row = {**body, "customer_id": next(self._ids)}
        self.store["customers"].append(row)
        return 200, {"valid": 1, "customer_id": row["customer_id"]}

    def _insert_document(self, kind: str, body: dict):
        required = ["company_id", "date", "document_set_id", "customer_id", "products"]
        if kind == "invoices":
            required.append("expiration_date")
        for name in required:
            if not body.get(name):
                return self._invalid(name)
        for line in body["products"]:
            if not line.get("product_id") or not line.get("qty") or line.get("price") in (None, ""):
                return self._invalid("products")
            if not line.get("taxes") and not line.get("exemption_reason"):
                return self._invalid("exemption_reason")
        if kind == "creditNotes":
            invoices = {d["document_id"] for d in self.store["invoices"]}
            if not body.get("associated_documents") or \
                    int(body["associated_documents"][0]["associated_id"]) not in invoices:
                return self._invalid("associated_documents")
        sets = {s["document_set_id"]: s["name"] for s in self.document_sets.get(int(body["company_id"]), [])}
        set_id = int(body["document_set_id"])
        if set_id not in sets:
            return self._invalid("document_set_id")
        number = 1 + sum(1 for d in self.store[kind] if int(d["document_set_id"]) == set_id)
        products = [{**line, "document_product_id": next(self._ids)} for line in body["products"]]
        row = {**body, "products": products, "document_id": next(self._ids), "number": number,
               "document_set_name": sets[set_id]}
        self.store[kind].append(row)
        return 200, {"valid": 1, "document_id": row["document_id"]}

    def _find(self, kind: str, body: dict):
        wanted = body.get("our_reference")
        return 200, [d for d in self.store[kind] if wanted is None or d.get("our_reference") == wanted]

    def _get_one(self, kind: str, body: dict):
        for doc in self.store[kind]:
            if str(doc["document_id"]) == str(body.get("document_id")):
                return 200, doc
        return 200, [{"code": "1 document_id", "description": "no such document"}]

    def _invoices_insert(self, body):
        return self._insert_document("invoices", body)

    def _invoices_getAll(self, body):  # noqa: N802
        return self._find("invoices", body)

    def _invoices_getOne(self, body):  # noqa: N802
        return self._get_one("invoices", body)

    def _creditNotes_insert(self, body):  # noqa: N802
        return self._insert_document("creditNotes", body)

    def _creditNotes_getAll(self, body):  # noqa: N802
        return self._find("creditNotes", body)

    def _creditNotes_getOne(self, body):  # noqa: N802
        return self._get_one("creditNotes", body)

    def _documents_getPDFLink(self, body):  # noqa: N802
        ids = {str(d["document_id"]) for kind in ("invoices", "creditNotes") for d in self.store[kind]}
        if str(body.get("document_id")) not in ids:
            return 200, [{"code": "1 document_id", "description": "no such document"}]
        return 200, {"url": f"{self.download_url}?action=getDownload&h={body['document_id']}"}

    @property
    def download_url(self) -> str:
        """Where the PDF links point (Moloni's are ``https://www.moloni.pt/downloads/index.php?...``)."""
        return f"http://{self.host}:{self.port}/downloads/index.php"

    def _download(self, params: dict):
        ids = {str(d["document_id"]) for kind in ("invoices", "creditNotes") for d in self.store[kind]}
        if params.get("h") not in ids:
            return 404, "<!doctype html><title>Moloni</title><p>No such document.</p>", None
        return 200, PDF, {"Content-Type": "application/pdf"}
