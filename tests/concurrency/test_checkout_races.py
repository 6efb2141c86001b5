"""The proof that checkout holds under concurrency, on SQLite and PostgreSQL: many shoppers race
through a live threaded server for the last items, the last of a balance, the last coupon use.
Every request runs for real (committed); tokens are minted with the services, not by logging in
(login is rate-limited per IP)."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import BalanceTransaction, Cart, Coupon, CouponRedemption, Order, Role, StockItem, User, Variant
from services import auth as auth_service
from services import balance, coupons, stock
from services import cart as cart_service
from services import products as product_service
from tenancy import tenant_scope

from .conftest import call, race

PRICE = 1000  # 10.00


def _product(stock_codes: int) -> Variant:
    product = product_service.create_product({"title": "Race Card", "variants": [{"title": "10 EUR", "price": PRICE}]})
    variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
    stock.import_stock(variant, "\n".join(f"RACE-{i:04d}" for i in range(stock_codes)))
    return variant


def _user(n: int, balance_minor: int) -> User:
    user = auth_service.create_user(username=f"racer{n}", email=f"racer{n}@example.com", password="race-pass-123",
                                    role=Role.USER, check_strength=False)
    if balance_minor:
        balance.credit(user.id, balance_minor, "topup", reason="race test")
    return user


def _check_ledgers(app, store_id: str) -> None:
    """Every balance equals the sum of its ledger rows and no row ever left it negative."""
    with app.app_context(), tenant_scope(store_id):
        for user in db.session.scalars(select(User)):
            assert user.balance == balance.ledger_sum(user.id), user.username
        assert db.session.scalar(select(func.min(BalanceTransaction.balance_after))) >= 0


def _codes(results) -> list[str]:
    return [code for status, body in results if status == 201 for code in body["deliverables"]]


def test_twenty_shoppers_race_for_the_last_five_items(live):
    base, app, store_id = live
    k, n = 5, 20
    with app.app_context(), tenant_scope(store_id):
        variant = _product(k)
        tokens = []
        for i in range(n):
            user = _user(i, 5 * PRICE)
            cart_service.add_item(cart_service.get_cart(user=user), variant.id, 1)
            tokens.append(auth_service.issue_tokens(user)["access_token"])
        variant_id = variant.id
        db.session.commit()

    results = race(n, lambda i: call(base, "POST", "/api/orders/checkout", token=tokens[i],
                                     body={"payment_method": "BALANCE"}))

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * k + [409] * (n - k), [(s, b.get("error")) for s, b in results]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"out_of_stock"}
    codes = _codes(results)
    assert len(codes) == k and len(set(codes)) == k, codes
    with app.app_context(), tenant_scope(store_id):
        assert db.session.scalar(select(func.count()).select_from(StockItem).where(StockItem.is_sold.is_(True))) == k
        assert db.session.get(Variant, variant_id).stock_count == 0
        assert db.session.scalar(select(func.count()).select_from(Order)) == k
        sold = set(db.session.scalars(select(StockItem.order_id).where(StockItem.is_sold.is_(True))))
        assert sold == {body["id"] for status, body in results if status == 201}
        numbers = sorted(db.session.scalars(select(Order.order_number)))
        assert numbers == list(range(1, k + 1))
    _check_ledgers(app, store_id)


def test_a_balance_that_pays_three_orders_pays_exactly_three_of_ten_at_once(live):
    """One user, ten checkouts at once (ten browser sessions, each with its own guest cart that
    the checkout merges into the user's cart first: signing in merges)."""
    base, app, store_id = live
    n = 10
    with app.app_context(), tenant_scope(store_id):
        variant = _product(50)
        user = _user(0, 3 * PRICE)
        cart_service.get_cart(user=user)
        for i in range(n):
            cart_service.add_item(cart_service.get_cart(guest_key=f"s:tab-{i}"), variant.id, 1)
        token = auth_service.issue_tokens(user)["access_token"]
        user_id, variant_id = user.id, variant.id
        db.session.commit()

    results = race(n, lambda i: call(base, "POST", "/api/orders/checkout", token=token,
                                     body={"payment_method": "BALANCE"}, headers={"X-Session-ID": f"tab-{i}"}))

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [409] * (n - 3), [(s, b.get("error")) for s, b in results]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"insufficient_balance"}
    assert all(body["item_count"] == 1 and body["total"] == 10.0 for status, body in results if status == 201)
    assert len(set(_codes(results))) == 3
    with app.app_context(), tenant_scope(store_id):
        assert db.session.get(User, user_id).balance == 0 == balance.ledger_sum(user_id)
        kinds = sorted(db.session.scalars(select(BalanceTransaction.kind).where(BalanceTransaction.user_id == user_id)))
        assert kinds == ["purchase"] * 3 + ["topup"]
        assert db.session.scalar(select(func.count()).select_from(Order)) == 3
        assert db.session.get(Variant, variant_id).stock_count == 47
        held = db.session.scalar(select(func.count()).select_from(StockItem).where(StockItem.order_id.isnot(None)))
        assert held == 3  # the refused checkouts reserved nothing
    _check_ledgers(app, store_id)


def test_a_coupon_with_one_use_is_used_once_by_ten_shoppers_at_once(live):
    base, app, store_id = live
    n = 10
    with app.app_context(), tenant_scope(store_id):
        variant = _product(20)
        coupons.create_coupon({"code": "ONCE", "kind": "percent", "value": 5000, "max_uses": 1})
        tokens = []
        for i in range(n):
            user = _user(i, 5 * PRICE)
            cart = cart_service.get_cart(user=user)
            cart_service.add_item(cart, variant.id, 1)
            cart_service.apply_coupon(cart, "ONCE", buyer=user, customer_key=user.id)
            tokens.append(auth_service.issue_tokens(user)["access_token"])
        db.session.commit()

    results = race(n, lambda i: call(base, "POST", "/api/orders/checkout", token=tokens[i],
                                     body={"payment_method": "BALANCE"}))

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (n - 1), [(s, b.get("error")) for s, b in results]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"coupon_used_up"}
    winner = next(body for status, body in results if status == 201)
    assert winner["coupon_code"] == "ONCE" and winner["total"] == 5.0
    with app.app_context(), tenant_scope(store_id):
        assert db.session.scalar(select(Coupon.uses_count).where(Coupon.code == "ONCE")) == 1
        assert db.session.scalar(select(func.count()).select_from(CouponRedemption)) == 1
        assert db.session.scalar(select(func.count()).select_from(Order).where(Order.coupon_code.isnot(None))) == 1
        # the others still hold their carts (with the coupon, now shown as used up)
        assert db.session.scalar(select(func.count()).select_from(Cart).where(Cart.coupon_code == "ONCE")) == n - 1
    status, body = call(base, "GET", "/api/cart", token=tokens[[s for s, _ in results].index(409)])
    assert status == 200 and body["coupon_error"] and body["coupon_discount"] == 0
    _check_ledgers(app, store_id)


def test_ten_checkouts_of_one_cart_at_once_place_one_order(live):
    """A double click, ten times over: the same cart checked out by ten requests at once. The cart's
    row lock (taken by the statement that reads the cart) lets one through; the others wait, then
    find the cart empty. One order, one debit, the cart's two units sold once."""
    base, app, store_id = live
    n = 10
    with app.app_context(), tenant_scope(store_id):
        variant = _product(20)
        user = _user(0, 50 * PRICE)
        cart_service.add_item(cart_service.get_cart(user=user), variant.id, 2)
        token = auth_service.issue_tokens(user)["access_token"]
        user_id, variant_id = user.id, variant.id
        db.session.commit()

    results = race(n, lambda i: call(base, "POST", "/api/orders/checkout", token=token,
                                     body={"payment_method": "BALANCE"}))

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [422] * (n - 1), [(s, b.get("error")) for s, b in results]
    assert {body["error"]["code"] for status, body in results if status == 422} == {"cart_empty"}
    assert len(set(_codes(results))) == 2
    with app.app_context(), tenant_scope(store_id):
        assert db.session.scalar(select(func.count()).select_from(Order)) == 1
        assert db.session.get(User, user_id).balance == 48 * PRICE
        assert db.session.get(Variant, variant_id).stock_count == 18
        assert db.session.scalar(select(func.count()).select_from(StockItem).where(StockItem.is_sold.is_(True))) == 2
    _check_ledgers(app, store_id)
