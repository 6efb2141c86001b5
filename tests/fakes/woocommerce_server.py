"""A small fake WooCommerce (REST API v3, read only) on 127.0.0.1, close enough to the documented
shapes that the ``woocommerce`` package (and ``integrations.woocommerce.WooClient``) works against it.

    with FakeWoo() as fake:
        client = WooClient(fake.url, fake.key, fake.secret)
        fake.products, fake.variations[product_id], fake.requests   # the catalogue, what was asked

The catalogue (seeded, the same every time): a tree of categories (3 top, children under two of
them), tags, two global attributes (Color, Size), and ``n_products`` products: physical simple ones
with a managed stock count, virtual and downloadable ones (digital), and variable ones with 2 to 6
variations each. A few carry images: good PNGs, one that is a 404, one whose body is not an image,
and one larger than the importer's byte limit (``huge_bytes``). The second page of products answers
429 (``Retry-After: 0``) once (``fail_once``).

Speaks: ``/wp-json/wc/v3/products/categories``, ``.../products/tags``, ``.../products/attributes``,
``.../products``, ``.../products/{id}``, ``.../products/{id}/variations``, with ``per_page`` (max
100) and ``page``, answering ``X-WP-Total`` and ``X-WP-TotalPages``; auth by HTTP Basic or an
OAuth 1.0a ``oauth_consumer_key`` (the signature is not checked); images under ``/img/...``.
"""
from __future__ import annotations

import base64
import io
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from PIL import Image

COLORS = ["Red", "Blue", "Green", "Black", "White", "Yellow"]
SIZES = ["S", "M", "L", "XL"]


def _png(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return out.getvalue()


class FakeWoo:
    key = "ck_test_fake"
    secret = "cs_test_fake_secret"

    def __init__(self, n_products: int = 240, *, seed: int = 15, huge_bytes: int = 11 * 1024 * 1024):
        self.n_products = n_products
        self.huge_bytes = huge_bytes
        self.requests: list[tuple[str, dict]] = []
        self.fail_once: set[str] = {"products?page=2"}
        self.page_delay = 0.0  # seconds before each page of products is answered (to catch a job mid-way)
        self._lock = threading.Lock()
        self._build(random.Random(seed))

    # --- the catalogue -----------------------------------------------------------------------
    def _build(self, rnd: random.Random) -> None:
        self.categories = []
        next_id = iter(range(10, 10_000))
        for top in ("Clothing", "Music", "Software"):
            parent = {"id": next(next_id), "name": top, "slug": top.lower(), "parent": 0,
                      "description": f"All {top.lower()}"}
            self.categories.append(parent)
            if top != "Music":
                for child in ("Featured", "Sale", "New"):
                    self.categories.append({"id": next(next_id), "name": f"{top} {child}",
                                            "slug": f"{top.lower()}-{child.lower()}", "parent": parent["id"],
                                            "description": ""})
        # a grandchild, listed before its parent's page order would suggest
        self.categories.insert(0, {"id": next(next_id), "name": "Clothing Sale Hoodies", "slug": "clothing-sale-hoodies",
                                   "parent": self.categories[2]["id"], "description": ""})
        self.tags = [{"id": 100 + i, "name": name, "slug": name.lower().replace(" ", "-")}
                     for i, name in enumerate(["Gift", "Bestseller", "Eco", "Limited", "Bundle", "New in"])]
        self.attributes = [{"id": 1, "name": "Color", "slug": "pa_color"}, {"id": 2, "name": "Size", "slug": "pa_size"}]
        self.images: dict[str, tuple[int, str, bytes]] = {}
        self.products: list[dict] = []
        self.variations: dict[int, list[dict]] = {}
        variation_id = iter(range(50_000, 100_000))
        image_id = iter(range(900_000, 999_999))
        good = 0
        for n in range(1, self.n_products + 1):
            pid = 1000 + n
            kind = rnd.choice(["simple", "simple", "variable", "virtual", "downloadable"])
            price = f"{rnd.randint(1, 300)}.{rnd.choice(['00', '50', '99', '05'])}"
            category = rnd.choice(self.categories)
            product = {
                "id": pid, "name": f"Product {n} {kind}", "slug": f"product-{n}", "type": "variable" if kind == "variable" else "simple",
                "status": "publish", "description": f"<p>Description of <b>product {n}</b></p><script>x()</script>",
                "short_description": "", "sku": f"WC-{n:04d}", "price": "" if kind == "variable" else price,
                "regular_price": "" if kind == "variable" else price, "sale_price": "",
                "virtual": kind == "virtual", "downloadable": kind == "downloadable",
                "manage_stock": kind == "simple", "stock_quantity": rnd.randint(0, 50) if kind == "simple" else None,
                "stock_status": "instock", "categories": [{"id": category["id"], "name": category["name"]}],
                "tags": [{"id": t["id"], "name": t["name"]} for t in rnd.sample(self.tags, rnd.randint(0, 2))],
                "images": [], "attributes": [], "variations": [], "date_modified": "2026-01-01T10:00:00",
            }
            if n <= 12:  # a few with good images
                good += 1
                iid = next(image_id)
                self.images[f"/img/good-{n}.png"] = (200, "image/png", _png((n * 20 % 255, 40, 90)))
                product["images"].append({"id": iid, "src": f"{{base}}/img/good-{n}.png", "alt": ""})
            if n == 13:
                product["images"].append({"id": next(image_id), "src": "{base}/img/missing.jpg", "alt": ""})
            if n == 14:
                product["images"].append({"id": next(image_id), "src": "{base}/img/not-an-image.jpg", "alt": ""})
            if n == 15:
                product["images"].append({"id": next(image_id), "src": "{base}/img/huge.png", "alt": ""})
            if kind == "variable":
                colors = rnd.sample(COLORS, rnd.randint(1, 3))
                sizes = rnd.sample(SIZES, rnd.randint(1, 2))
                combos = [(c, s) for c in colors for s in sizes][:6]
                if len(combos) < 2:
                    combos.append((colors[0], "XL" if sizes[0] != "XL" else "S"))
                product["attributes"] = [{"id": 1, "name": "Color", "options": colors},
                                         {"id": 2, "name": "Size", "options": sorted({s for _, s in combos})}]
                rows = []
                for j, (color, size) in enumerate(combos):
                    vid = next(variation_id)
                    vprice = f"{rnd.randint(5, 120)}.{rnd.choice(['00', '49', '95'])}"
                    rows.append({"id": vid, "sku": f"WC-{n:04d}-{j}", "price": vprice, "regular_price": vprice,
                                 "sale_price": "", "virtual": False, "downloadable": False,
                                 "manage_stock": True, "stock_quantity": rnd.randint(0, 30), "stock_status": "instock",
                                 "image": None, "date_modified": "2026-01-01T10:00:00",
                                 "attributes": [{"id": 1, "name": "Color", "option": color},
                                                {"id": 2, "name": "Size", "option": size}]})
                product["variations"] = [r["id"] for r in rows]
                self.variations[pid] = rows
            self.products.append(product)
        self.images["/img/not-an-image.jpg"] = (200, "image/jpeg", b"<html>this is not an image</html>")

    @property
    def variation_count(self) -> int:
        return sum(len(v) for v in self.variations.values())

    @property
    def variant_count(self) -> int:
        """What the import makes: one variant per simple product, one per variation."""
        return sum(1 for p in self.products if p["type"] == "simple") + self.variation_count

    # --- the server ----------------------------------------------------------------------------
    def start(self) -> FakeWoo:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                fake._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeWoo:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _send(self, handler, status: int, body: bytes, content_type="application/json", headers=None):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            handler.send_header(k, str(v))
        handler.end_headers()
        handler.wfile.write(body)

    def _error(self, handler, status, code, message, headers=None):
        body = json.dumps({"code": code, "message": message, "data": {"status": status}}).encode()
        self._send(handler, status, body, headers=headers)

    def _authorized(self, handler, params) -> bool:
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            return base64.b64decode(header[6:]).decode() == f"{self.key}:{self.secret}"
        return params.get("oauth_consumer_key") == self.key and "oauth_signature" in params

    def _handle(self, handler) -> None:
        parts = urlsplit(handler.path)
        params = dict(parse_qsl(parts.query))
        path = parts.path
        with self._lock:
            self.requests.append((path, params))
        if path.startswith("/img/"):
            return self._image(handler, path)
        prefix = "/wp-json/wc/v3/"
        if not path.startswith(prefix):
            return self._error(handler, 404, "rest_no_route", "No route was found")
        if not self._authorized(handler, params):
            return self._error(handler, 401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        endpoint = path[len(prefix):].rstrip("/")
        page = int(params.get("page", 1))
        marker = f"{endpoint}?page={page}"
        with self._lock:
            if marker in self.fail_once:
                self.fail_once.discard(marker)
                return self._error(handler, 429, "too_many_requests", "Slow down", headers={"Retry-After": "0"})
        if endpoint == "products/categories":
            return self._list(handler, self.categories, params)
        if endpoint == "products/tags":
            return self._list(handler, self.tags, params)
        if endpoint == "products/attributes":
            return self._list(handler, self.attributes, params)
        if endpoint == "products":
            time.sleep(self.page_delay)
            return self._list(handler, [self._render(p) for p in self.products], params)
        bits = endpoint.split("/")
        if len(bits) >= 2 and bits[0] == "products" and bits[1].isdigit():
            pid = int(bits[1])
            product = next((p for p in self.products if p["id"] == pid), None)
            if product is None:
                return self._error(handler, 404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            if len(bits) == 2:
                return self._send(handler, 200, json.dumps(self._render(product)).encode())
            if bits[2:] == ["variations"]:
                return self._list(handler, self.variations.get(pid, []), params)
        return self._error(handler, 404, "rest_no_route", "No route was found")

    def _render(self, product: dict) -> dict:
        out = dict(product)
        out["images"] = [{**i, "src": i["src"].replace("{base}", self.url)} for i in product["images"]]
        return out

    def _list(self, handler, items: list, params: dict) -> None:
        per_page = min(100, max(1, int(params.get("per_page", 10))))
        page = max(1, int(params.get("page", 1)))
        total = len(items)
        pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        self._send(handler, 200, json.dumps(chunk).encode(), headers={"X-WP-Total": total, "X-WP-TotalPages": pages})

    def _image(self, handler, path: str) -> None:
        if path == "/img/huge.png":
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.end_headers()  # no Content-Length: the importer must count what it reads
            chunk = b"\0" * (256 * 1024)
            try:
                for _ in range(self.huge_bytes // len(chunk) + 2):
                    handler.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        found = self.images.get(path)
        if found is None:
            return self._send(handler, 404, b"not found", "text/html")
        status, content_type, body = found
        self._send(handler, status, body, content_type)
