"""A small audience for campaign tests (committed through the factory, so it works for the
rolled-back ``app`` tests and for a worker's own database alike).

Store "main": ann, bob, cat (USER), dan (RESELLER), eve (USER, deactivated), sam (STAFF), an ADMIN.
cat turned marketing emails off (product news stays on). bob bought the product "Game Key" for
600.00 (a paid order): he is the store's only VIP; the others registered today are "new".
Another store's customer, zed, must never be reached.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from extensions import db
from models import NotificationPreference, Order, OrderLine, Product, Store, User


@dataclass
class World:
    store: Store
    admin: User
    ann: User
    bob: User
    cat: User
    dan: User
    eve: User
    sam: User
    product_id: str
    other_product_id: str

    @property
    def reached_by_all(self) -> set[str]:
        """Who an ``all`` marketing campaign reaches."""
        return {self.ann.email, self.bob.email, self.dan.email}


def build_world(make, store: Store, other_store: Store | None = None) -> World:
    admin = make.user(store, role="ADMIN", username="owner", email="owner@example.com")
    users = {name: make.user(store, role=role, username=name, email=f"{name}@example.com")
             for name, role in (("ann", "USER"), ("bob", "USER"), ("cat", "USER"), ("dan", "RESELLER"),
                                ("eve", "USER"), ("sam", "STAFF"))}
    with make.scope(store) as session:
        session.get(User, users["eve"].id).is_active = False
        session.add(NotificationPreference(user_id=users["cat"].id, marketing_emails=False, product_news=True))
        product = Product(title="Game Key", slug="game-key")
        other = Product(title="Gift Card", slug="gift-card")
        session.add_all([product, other])
        session.flush()
        order = Order(order_number=1, buyer_id=users["bob"].id, email="bob@example.com", payment_method="MANUAL",
                      currency="EUR", status="COMPLETED", payment_status="PAID", subtotal=60_000, total=60_000,
                      paid_at=datetime.now(UTC))
        session.add(order)
        session.flush()
        session.add(OrderLine(order_id=order.id, product_id=product.id, product_title="Game Key", variant_title="1",
                              quantity=1, unit_price=60_000, line_subtotal=60_000))
        product_id, other_id = product.id, other.id
    if other_store is not None:
        make.user(other_store, username="zed", email="zed@example.com")
    return World(store=store, admin=admin, product_id=product_id, other_product_id=other_id, **users)


def draft(app, world: World, **fields) -> str:
    """A draft campaign (through the service), its id."""
    from services import campaigns
    from tenancy import tenant_scope

    data = {"subject": "Spring sale", "body_markdown": "## Hello\n\n**20 %** off [everything](https://shop.example)",
            "topic": "marketing", "audience": "all", "audience_param": None, **fields}
    with app.app_context(), tenant_scope(world.store):
        campaign = campaigns.create_campaign(data, created_by=None)
        db.session.commit()
        return campaign.id
