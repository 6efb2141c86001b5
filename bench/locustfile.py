"""The load test's traffic (locust), run by ``bench/load.py``; it reads what to ask from the JSON file
named by ``LOAD_PLAN`` (the instances, shoppers' and the admin's tokens, products).

Each simulated user is a signed-in shopper on one of the instances (round robin), doing a mix of:
browse (home, a product page, the JSON product list), search, cart and a checkout paid by balance;
one user in ``ADMIN_SHARE`` is a store admin listing orders and customers. Every answer is checked:
a 2xx (or the expected 201) is a success, anything else counts as an error.
"""
from __future__ import annotations

import itertools
import json
import os
import random

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
_numbers = itertools.count()
SEARCHES = ["key", "game", "gift", "card", "steam", "xyz-nothing"]


class Shopper(HttpUser):
    wait_time = between(0.05, 0.3)
    weight = 9

    def on_start(self):
        n = next(_numbers)
        self.client.base_url = PLAN["hosts"][n % len(PLAN["hosts"])]
        token = PLAN["shoppers"][n % len(PLAN["shoppers"])]
        self.auth = {"Authorization": f"Bearer {token}"}

    @task(4)
    def browse(self):
        self.client.get("/", name="page: home")
        product = random.choice(PLAN["products"])
        self.client.get(f"/p/{product['slug']}", name="page: product")
        self.client.get("/api/products?page=1&page_size=20", name="api: product list")

    @task(3)
    def search(self):
        self.client.get(f"/search?q={random.choice(SEARCHES)}", name="page: search")

    @task(2)
    def checkout_by_balance(self):
        product = random.choice(PLAN["products"])
        with self.client.post("/api/cart/items", json={"subcategory_id": product["variant_id"], "quantity": 1},
                              headers=self.auth, name="api: add to cart", catch_response=True) as added:
            if added.status_code != 200:
                added.failure(f"{added.status_code}: {added.text[:200]}")
                return
        with self.client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=self.auth,
                              name="api: checkout (balance)", catch_response=True) as placed:
            if placed.status_code != 201:
                placed.failure(f"{placed.status_code}: {placed.text[:200]}")
            elif placed.json().get("status") != "COMPLETED":
                placed.failure(f"not delivered at once: {placed.json().get('status')}")


class Admin(HttpUser):
    wait_time = between(0.2, 0.6)
    weight = 1

    def on_start(self):
        n = next(_numbers)
        self.client.base_url = PLAN["hosts"][n % len(PLAN["hosts"])]
        self.auth = {"Authorization": f"Bearer {PLAN['admin']}"}

    @task(3)
    def orders(self):
        page = random.randint(1, 5)
        self.client.get(f"/api/orders?page={page}&page_size=25", headers=self.auth, name="admin: orders list")

    @task(1)
    def customers(self):
        self.client.get("/api/customers?page=1&page_size=25", headers=self.auth, name="admin: customers list")
