"""Plan limits under concurrency (a live server, every request committed, SQLite and PostgreSQL):
a store one staff seat or one product short of its plan's limit, and many admins adding staff,
enabling disabled staff or creating products at the same instant. Exactly one of them gets the
last seat or slot; every other one is refused with ``plan_limit_reached``, and the rows counted
afterwards are exactly at the limit (``services.plans._limit`` locks the store's row before it
counts; without the lock, PostgreSQL lets several requests count the same rows and all write)."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Plan, Product, Role, Store, User
from services import auth as auth_service
from services import plans
from services import products as product_service
from tenancy import tenant_scope

from .conftest import call, race

N = 8  # requests racing for the last seat or slot
ROUNDS = 3  # each round frees one seat or slot again, so the race is run more than once


def _limited_store(app, store_id: str, *, max_staff: int | None = None, max_products: int | None = None,
                   admins: int = 2) -> list[str]:
    """Put the store on a plan with these limits; ``admins`` admins (each holding a staff seat). Their tokens."""
    with app.app_context(), tenant_scope(store_id):
        plan = Plan(slug="tight", name="Tight", monthly_price=100, currency="EUR", max_staff=max_staff,
                    max_products=max_products, custom_domain_allowed=False, features=[])
        db.session.add(plan)
        db.session.flush()
        db.session.get(Store, store_id).plan_id = plan.id
        tokens = []
        for i in range(admins):
            admin = auth_service.create_user(username=f"boss{i}", email=f"boss{i}@example.com",
                                             password="race-pass-123", role=Role.ADMIN, check_strength=False)
            tokens.append(auth_service.issue_tokens(admin)["access_token"])
        db.session.commit()
        return tokens


def _staff_seats(app, store_id: str) -> int:
    with app.app_context(), tenant_scope(store_id):
        return plans.staff_count()


def _refused_by_the_plan(results, limit: str) -> None:
    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201 if limit != "enable" else 200] + [403] * (N - 1), [(s, b.get("error")) for s, b in results]
    refused = [body["error"] for status, body in results if status == 403]
    assert {e["code"] for e in refused} == {"plan_limit_reached"}, refused


def test_admins_adding_staff_at_once_never_pass_the_plans_seats(live):
    base, app, store_id = live
    tokens = _limited_store(app, store_id, max_staff=3)  # the two admins hold two of the three seats
    for round_ in range(ROUNDS):
        results = race(N, lambda i, r=round_: call(
            base, "POST", "/api/admin/users", token=tokens[i % len(tokens)],
            body={"username": f"staff{r}x{i}", "email": f"staff{r}x{i}@example.com", "password": "long-enough-pw",
                  "role": ("STAFF", "MANAGER")[i % 2]}))
        _refused_by_the_plan(results, "max_staff")
        assert {body["error"]["details"]["max"] for status, body in results if status == 403} == {3}
        assert _staff_seats(app, store_id) == 3
        # the one who got in leaves (disabled: holds no seat), and the next round races for the seat again
        (hired,) = [body["id"] for status, body in results if status == 201]
        status, body = call(base, "PUT", f"/api/customers/{hired}", token=tokens[0], body={"is_active": False})
        assert status == 200, body
        assert _staff_seats(app, store_id) == 2
    with app.app_context(), tenant_scope(store_id):
        staff = db.session.scalars(select(User).where(User.role.in_(plans.STAFF_ROLES))).all()
        assert len(staff) == 2 + ROUNDS  # the admins and one hire per round; no refused request left a row
        assert sum(1 for u in staff if u.is_active) == 2


def test_admins_enabling_disabled_staff_at_once_never_pass_the_plans_seats(live):
    base, app, store_id = live
    tokens = _limited_store(app, store_id, max_staff=3)
    with app.app_context(), tenant_scope(store_id):
        disabled = []
        for i in range(N):
            user = auth_service.create_user(username=f"away{i}", email=f"away{i}@example.com",
                                            password="race-pass-123", role=Role.STAFF, check_strength=False)
            user.is_active = False
            disabled.append(user.id)
        db.session.commit()
    assert _staff_seats(app, store_id) == 2

    results = race(N, lambda i: call(base, "PUT", f"/api/customers/{disabled[i]}", token=tokens[i % len(tokens)],
                                     body={"is_active": True}))

    _refused_by_the_plan(results, "enable")
    assert _staff_seats(app, store_id) == 3
    with app.app_context(), tenant_scope(store_id):
        enabled = db.session.scalars(select(User.id).where(User.id.in_(disabled), User.is_active.is_(True))).all()
        (winner,) = [body["id"] for status, body in results if status == 200]
        assert enabled == [winner]


def test_admins_creating_products_at_once_never_pass_the_plans_products(live):
    base, app, store_id = live
    limit = 5
    tokens = _limited_store(app, store_id, max_products=limit)
    with app.app_context(), tenant_scope(store_id):
        for i in range(limit - 1):
            product_service.create_product({"title": f"Kept {i}"})
        db.session.commit()
    for round_ in range(ROUNDS):
        results = race(N, lambda i, r=round_: call(base, "POST", "/api/products", token=tokens[i % len(tokens)],
                                                   body={"title": f"Racer {r}-{i}"}))
        _refused_by_the_plan(results, "max_products")
        assert {body["error"]["details"]["max"] for status, body in results if status == 403} == {limit}
        with app.app_context(), tenant_scope(store_id):
            live_products = select(func.count()).select_from(Product).where(Product.deleted_at.is_(None))
            assert db.session.scalar(live_products) == limit
        # the product that got in is deleted (deleted ones do not count): the next round races for its slot
        (made,) = [body["id"] for status, body in results if status == 201]
        status, body = call(base, "DELETE", f"/api/products/{made}", token=tokens[0])
        assert status in (200, 204), body
    with app.app_context(), tenant_scope(store_id):
        assert db.session.scalar(select(func.count()).select_from(Product)) == limit - 1 + ROUNDS
