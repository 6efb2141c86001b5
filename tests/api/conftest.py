"""Helpers for the catalog API tests: role headers and small builders that go through the API."""
from __future__ import annotations

import io

import pytest
from PIL import Image


def error_code(response) -> str:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["message"]
    return body["error"]["code"]


def png_bytes(size=(40, 30), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def admin_headers(make, store):
    return make.headers(make.user(store, role="ADMIN"), store)


@pytest.fixture
def manager_headers(make, store):
    return make.headers(make.user(store, role="MANAGER"), store)


@pytest.fixture
def staff_headers(make, store):
    return make.headers(make.user(store, role="STAFF"), store)


@pytest.fixture
def user_headers(make, store):
    return make.headers(make.user(store, role="USER"), store)


class Catalog:
    """Builds catalog rows through the API as a manager (every call asserts success)."""

    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def _ok(self, response, status=201) -> dict:
        assert response.status_code == status, response.get_json()
        return response.get_json()

    def product(self, title="Steam Card", variants=None, **fields) -> dict:
        if variants is None:
            variants = [{"title": "$10", "price": 9.99}]
        body = {"title": title, "variants": variants, **fields}
        return self._ok(self.client.post("/api/products", json=body, headers=self.headers))

    def variant(self, product_id: str, **fields) -> dict:
        body = {"title": "Option", "price": 5, **fields}
        return self._ok(self.client.post(f"/api/products/{product_id}/variants", json=body, headers=self.headers))

    def category(self, title="Gift Cards", **fields) -> dict:
        return self._ok(self.client.post("/api/categories", json={"title": title, **fields}, headers=self.headers))

    def tag(self, name="Sale") -> dict:
        return self._ok(self.client.post("/api/tags", json={"name": name}, headers=self.headers))

    def stock(self, variant_id: str, codes: list[str], admin_headers) -> dict:
        body = {"subcategoryId": variant_id, "stock": codes}
        return self._ok(self.client.post("/api/admin/stock/add", json=body, headers=admin_headers), 200)


@pytest.fixture
def catalog(client, manager_headers):
    return Catalog(client, manager_headers)
