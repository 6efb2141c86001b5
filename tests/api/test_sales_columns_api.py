"""An order paid by a provider's webhook (on time, after it expired, after a person cancelled it)
gets its lines' copy of the sale (``paid_at``, ``is_gift``) and its cost, as a balance checkout
does (tests/unit/test_sales_columns.py): the reports read those columns alone."""
from __future__ import annotations

from extensions import db
from models import Order, OrderLine
from tenancy import tenant_scope
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.api.test_payments_flow import _cancel, _expire, _paid_at_stripe_meanwhile, _stripe_order
from tests.payments import stripe_post


def _sale(app, store, order_id) -> tuple:
    with app.app_context(), tenant_scope(store):
        order = db.session.get(Order, order_id)
        lines = [(line.paid_at, line.is_gift, line.cost, line.cost_known_units)
                 for line in db.session.query(OrderLine).filter_by(order_id=order_id)]
        return order.paid_at, order.payment_status, order.cost_total, order.cost_known_units, lines


def _pay(client, stripe_platform, body):
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(body["redirect_url"].rsplit("/", 1)[1])
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200


def test_a_webhook_payment_writes_the_lines_payment_time(app, client, store, shop, stripe_platform):
    body = _stripe_order(client, shop, store, app)  # 2 codes, imported without a unit cost
    paid_at, status, cost, known, lines = _sale(app, store, body["id"])
    assert (paid_at, status, lines) == (None, "UNPAID", [(None, False, 0, 0)])
    _pay(client, stripe_platform, body)
    paid_at, status, cost, known, lines = _sale(app, store, body["id"])
    assert status == "PAID" and paid_at is not None
    assert (cost, known, lines) == (0, 0, [(paid_at, False, 0, 0)])


def test_money_after_expiry_or_cancellation_still_marks_the_lines_sold(app, client, make, store, shop, stripe_platform):
    body, event = _paid_at_stripe_meanwhile(client, shop, store, app, stripe_platform)
    _expire(app, store, body["id"])
    assert stripe_post(client, stripe_platform, event).status_code == 200  # stock taken again and delivered
    paid_at, status, _, _, lines = _sale(app, store, body["id"])
    assert status == "PAID" and lines == [(paid_at, False, 0, 0)]

    body, event = _paid_at_stripe_meanwhile(client, shop, store, app, stripe_platform)
    _cancel(client, make, store, body["id"])
    assert stripe_post(client, stripe_platform, event).status_code == 200  # money on record, nothing delivered
    paid_at, status, cost, known, lines = _sale(app, store, body["id"])
    assert status == "PAID" and paid_at is not None and (cost, known, lines) == (0, 0, [(paid_at, False, 0, 0)])


def test_money_after_expiry_with_the_stock_gone_marks_the_lines_sold_without_cost(app, client, store, shop,
                                                                                  stripe_platform):
    from models import Variant
    from services import stock

    body, event = _paid_at_stripe_meanwhile(client, shop, store, app, stripe_platform)
    _expire(app, store, body["id"])
    with app.app_context(), tenant_scope(store):
        stock.clear_stock(db.session.get(Variant, shop.digital))  # every code withdrawn meanwhile
        db.session.commit()
    assert stripe_post(client, stripe_platform, event).status_code == 200
    paid_at, status, cost, known, lines = _sale(app, store, body["id"])
    assert status == "PAID" and paid_at is not None and (cost, known, lines) == (0, 0, [(paid_at, False, 0, 0)])
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Order, body["id"]).status == "PROCESSING"  # deliver by hand or refund
