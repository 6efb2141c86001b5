"""Isolation between stores, enforced in tenancy.py for every store-scoped model."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import StatementError

from extensions import db
from models import (
    Address,
    Attribute,
    AttributeValue,
    AuditEntry,
    BalanceTopUp,
    BalanceTransaction,
    Base,
    Blacklist,
    Campaign,
    CampaignRecipient,
    Cart,
    CartItem,
    Category,
    Counter,
    Coupon,
    CouponRedemption,
    ExternalRef,
    ImportJob,
    MoloniConnection,
    MoloniInvoice,
    NotificationPreference,
    Order,
    OrderAdjustment,
    OrderEvent,
    OrderLine,
    Page,
    PasswordResetToken,
    Payment,
    PaymentAccount,
    Product,
    ProductImage,
    ProductTag,
    Refund,
    ReplacementRequest,
    Review,
    ShippingMethod,
    ShippingZone,
    SlugRedirect,
    StockBatch,
    StockItem,
    Tag,
    TaxRule,
    TenantScoped,
    User,
    Variant,
    VariantAttributeValue,
    WebhookEvent,
    WishlistItem,
    WishlistShare,
)
from tenancy import TenantError, tenant_scope


def _user(tag: str) -> User:
    return User(username=f"u-{tag}", email=f"{tag}@example.com", password_hash="x")


def _owner(session, tag: str) -> User:
    user = _user(f"owner-{tag}")
    session.add(user)
    session.flush()
    return user


def _product(s, tag: str) -> Product:
    product = Product(title=f"P {tag}", slug=f"p-{tag}".lower())
    s.add(product)
    s.flush()
    return product


def _variant(s, tag: str) -> Variant:
    variant = Variant(product_id=_product(s, tag).id, title=f"V {tag}", price=100)
    s.add(variant)
    s.flush()
    return variant


def _attribute(s, tag: str) -> Attribute:
    attribute = Attribute(name=f"A {tag}", slug=f"a-{tag}".lower())
    s.add(attribute)
    s.flush()
    return attribute


def _attribute_value(s, tag: str) -> AttributeValue:
    attribute = _attribute(s, tag)
    value = AttributeValue(attribute_id=attribute.id, value=f"v-{tag}")
    s.add(value)
    s.flush()
    return value


def _tag(s, tag: str) -> Tag:
    t = Tag(name=f"T {tag}", slug=f"t-{tag}".lower())
    s.add(t)
    s.flush()
    return t


def _stock_item(s, tag: str) -> StockItem:
    v = _variant(s, tag)
    item = StockItem(variant_id=v.id, product_id=v.product_id, deliverable_hash=f"r-{tag}".encode(),
                     deliverable_encrypted="x")
    s.add(item)
    s.flush()
    return item


def _order(s, tag: str) -> Order:
    order = Order(order_number=abs(hash(tag)) % 10**9, email=f"{tag}@example.com", payment_method="MANUAL",
                  currency="EUR")
    s.add(order)
    s.flush()
    return order


def _coupon(s, tag: str) -> Coupon:
    coupon = Coupon(code=f"C{abs(hash(tag)) % 10**9}", kind="fixed", value=100)
    s.add(coupon)
    s.flush()
    return coupon


def _user_id(s, tag: str) -> str:
    user = _user(f"u{abs(hash(tag)) % 10**6}")
    s.add(user)
    s.flush()
    return user.id


def _campaign(s, tag: str) -> Campaign:
    campaign = Campaign(subject=tag, body_markdown="x")
    s.add(campaign)
    s.flush()
    return campaign


def _zone(s, tag: str) -> ShippingZone:
    zone = ShippingZone(name=tag, countries=["ES"])
    s.add(zone)
    s.flush()
    return zone


def _cart(s, tag: str) -> Cart:
    cart = Cart(guest_key=f"g-{tag}")
    s.add(cart)
    s.flush()
    return cart


# One way to build a valid row for every store-scoped model, and a column a bulk UPDATE can change.
# A new store-scoped model must be added here: test_every_scoped_model_has_a_sample fails until it is.
SAMPLES = {
    User: (lambda s, tag: _user(tag), "username"),
    Blacklist: (lambda s, tag: Blacklist(kind="email", value=f"{tag}@bad.example"), "reason"),
    PasswordResetToken: (lambda s, tag: PasswordResetToken(
        user_id=_owner(s, tag).id, token_hash=f"hash-{tag}",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=1)), "requested_ip"),
    Category: (lambda s, tag: Category(title=tag, slug=tag.lower()), "description"),
    Product: (lambda s, tag: Product(title=tag, slug=tag.lower()), "description"),
    ProductImage: (lambda s, tag: ProductImage(product_id=_product(s, tag).id, url="/u", storage_key=f"k/{tag}"), "url"),
    Variant: (lambda s, tag: Variant(product_id=_product(s, tag).id, title=tag, price=1), "title"),
    Tag: (lambda s, tag: Tag(name=tag, slug=tag.lower()), "name"),
    ProductTag: (lambda s, tag: ProductTag(product_id=_product(s, tag).id, tag_id=_tag(s, tag).id), "tag_id"),
    Attribute: (lambda s, tag: Attribute(name=tag, slug=tag.lower()), "name"),
    AttributeValue: (lambda s, tag: AttributeValue(attribute_id=_attribute(s, tag).id, value=tag), "value"),
    VariantAttributeValue: (lambda s, tag: VariantAttributeValue(
        variant_id=_variant(s, tag).id, attribute_value_id=_attribute_value(s, tag).id), "attribute_value_id"),
    StockBatch: (lambda s, tag: StockBatch(variant_id=_variant(s, tag).id), "note"),
    StockItem: (lambda s, tag: StockItem(variant_id=(v := _variant(s, tag)).id, product_id=v.product_id,
                                          deliverable_hash=f"h-{tag}".encode(), deliverable_encrypted="x"), "deliverable_encrypted"),
    Counter: (lambda s, tag: Counter(name=f"n{abs(hash(tag)) % 10**6}", value=1), "value"),
    Cart: (lambda s, tag: Cart(guest_key=f"g-{tag}"), "coupon_code"),
    CartItem: (lambda s, tag: CartItem(cart_id=_cart(s, tag).id, variant_id=_variant(s, tag).id, quantity=1,
                                       seen_price=1), "quantity"),
    Page: (lambda s, tag: Page(title=tag, slug=f"p-{abs(hash(tag)) % 10**9}"), "meta_description"),
    Coupon: (lambda s, tag: Coupon(code=f"C{abs(hash(tag)) % 10**9}", kind="fixed", value=100), "description"),
    Order: (lambda s, tag: Order(order_number=abs(hash(tag)) % 10**9, email=f"{tag}@example.com",
                                 payment_method="MANUAL", currency="EUR"), "note"),
    OrderLine: (lambda s, tag: OrderLine(order_id=_order(s, tag).id, product_title="p", variant_title="v", quantity=1,
                                         unit_price=1, line_subtotal=1), "product_title"),
    OrderAdjustment: (lambda s, tag: OrderAdjustment(order_id=_order(s, tag).id, kind="tax", label="t", amount=1),
                      "label"),
    OrderEvent: (lambda s, tag: OrderEvent(order_id=_order(s, tag).id, kind="k", message="m"), "message"),
    CouponRedemption: (lambda s, tag: CouponRedemption(coupon_id=_coupon(s, tag).id, order_id=_order(s, tag).id,
                                                       customer_key="x", amount=1), "customer_key"),
    BalanceTopUp: (lambda s, tag: BalanceTopUp(user_id=_user_id(s, tag), amount=100, currency="EUR",
                                               payment_method="STRIPE"), "payment_method"),
    Review: (lambda s, tag: Review(order_id=_order(s, tag).id, reviewed_by="x", rating=5, product_name="p"),
             "text_review"),
    BalanceTransaction: (lambda s, tag: BalanceTransaction(user_id=_user_id(s, tag), kind="topup", amount=1,
                                                           balance_after=1), "reason"),
    ReplacementRequest: (lambda s, tag: ReplacementRequest(
        order_id=_order(s, tag).id, stock_item_id=_stock_item(s, tag).id, reason="x"), "reason"),
    Payment: (lambda s, tag: Payment(provider="STRIPE", purpose="order", order_id=_order(s, tag).id, amount=100,
                                     currency="EUR", provider_ref=f"cs_{tag}"), "failure_reason"),
    PaymentAccount: (lambda s, tag: PaymentAccount(provider="HOODPAY", account_ref=f"biz-{tag}"), "account_ref"),
    Refund: (lambda s, tag: Refund(order_id=_order(s, tag).id, amount=1, currency="EUR", destination="balance"),
             "reason"),
    Campaign: (lambda s, tag: Campaign(subject=tag, body_markdown="x"), "subject"),
    CampaignRecipient: (lambda s, tag: CampaignRecipient(campaign_id=_campaign(s, tag).id, user_id=_user_id(s, tag),
                                                         email=f"{tag}@example.com"), "email"),
    NotificationPreference: (lambda s, tag: NotificationPreference(user_id=_user_id(s, tag)), "changed_via"),
    AuditEntry: (lambda s, tag: AuditEntry(actor_name="x", actor_role="ADMIN", resource_type="product",
                                           action="update", changes={}), "action"),
    WebhookEvent: (lambda s, tag: WebhookEvent(provider="STRIPE", event_id=f"evt_{tag}", type="x", payload="{}"),
                   "result"),
    Address: (lambda s, tag: Address(user_id=_user_id(s, tag), name=tag, line1="1 Main St", country="PT"), "city"),
    ShippingZone: (lambda s, tag: ShippingZone(name=tag, countries=["PT"]), "name"),
    ShippingMethod: (lambda s, tag: ShippingMethod(zone_id=_zone(s, tag).id, name=tag, kind="flat", price=1), "name"),
    TaxRule: (lambda s, tag: TaxRule(name=tag, country="PT", rate_bps=2300), "name"),
    WishlistItem: (lambda s, tag: WishlistItem(user_id=_user_id(s, tag), product_id=_product(s, tag).id), "product_id"),
    MoloniConnection: (lambda s, tag: MoloniConnection(company_name=tag), "company_name"),
    MoloniInvoice: (lambda s, tag: MoloniInvoice(order_id=_order(s, tag).id, our_reference=tag), "our_reference"),
    WishlistShare: (lambda s, tag: WishlistShare(user_id=_user_id(s, tag), token_hash=f"h{abs(hash(tag))}"),
                    "token_hash"),
    ImportJob: (lambda s, tag: ImportJob(source="csv", file_name=tag), "file_name"),
    ExternalRef: (lambda s, tag: ExternalRef(source="csv", kind="product", external_id=tag, local_id=tag), "fingerprint"),
    SlugRedirect: (lambda s, tag: SlugRedirect(kind="product", slug=tag.lower(), target_id=tag), "target_id"),
}

# Columns whose bulk UPDATE to the string "changed" would break a foreign key: use a real value.
FK_COLUMNS = {"tag_id", "attribute_value_id", "product_id"}
INT_COLUMNS = {"value", "quantity"}


def _pk(model, row):
    return tuple(getattr(row, c.key) for c in sa_inspect(model).primary_key)


def _pk_filter(model, key):
    return [c == v for c, v in zip(sa_inspect(model).primary_key, key, strict=True)]


def scoped_models():
    return sorted((m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)),
                  key=lambda c: c.__name__)


def test_every_scoped_model_has_a_sample():
    missing = [m.__name__ for m in scoped_models() if m not in SAMPLES]
    assert not missing, f"add these models to SAMPLES: {missing}"


@pytest.mark.parametrize("model", scoped_models(), ids=lambda m: m.__name__)
def test_rows_of_one_store_are_invisible_and_untouchable_from_another(app, store, other_store, model):
    build, column = SAMPLES[model]
    with app.app_context():
        for s, tag in ((store, "a"), (other_store, "b")):
            with tenant_scope(s):
                db.session.add(build(db.session, f"{model.__name__}-{tag}"))
                db.session.commit()

        def count_all():
            return db.session.scalar(select(func.count()).select_from(model).execution_options(all_stores=True))

        total = count_all()
        with tenant_scope(store):
            rows = db.session.scalars(select(model)).all()
            assert rows and {r.store_id for r in rows} == {store.id}
            mine = len(rows)
            # bulk UPDATE and DELETE touch only the bound store's rows
            marker = getattr(rows[0], column) if column in FK_COLUMNS else 7 if column in INT_COLUMNS else "changed"
            changed = db.session.execute(update(model).values({column: marker})).rowcount
            assert changed == mine
            db.session.commit()
        with tenant_scope(other_store):
            theirs = db.session.scalars(select(model)).all()
            assert theirs and {r.store_id for r in theirs} == {other_store.id}
            assert all(getattr(r, column) != marker for r in theirs)
            foreign_key = _pk(model, theirs[0])
        with tenant_scope(store):
            assert db.session.get(model, foreign_key) is None
            deleted = db.session.execute(delete(model).where(*_pk_filter(model, foreign_key))).rowcount
            assert deleted == 0
            db.session.commit()
        assert count_all() == total
        # nothing bound: no rows at all (fail closed)
        db.session.expunge_all()
        assert db.session.scalars(select(model)).all() == []
        assert db.session.execute(update(model).values({column: marker})).rowcount == 0
        db.session.rollback()


@pytest.mark.parametrize("model", scoped_models(), ids=lambda m: m.__name__)
def test_writes_are_stamped_and_cross_store_writes_refused(app, store, other_store, model):
    build, column = SAMPLES[model]
    with app.app_context():
        with tenant_scope(store):
            row = build(db.session, f"{model.__name__}-stamp")
            db.session.add(row)
            db.session.flush()
            assert row.store_id == store.id
            db.session.commit()
        with tenant_scope(other_store):
            intruder = build(db.session, f"{model.__name__}-intruder") if not _needs_parents(model) else None
            if intruder is not None:
                intruder.store_id = store.id
                db.session.add(intruder)
                with pytest.raises(TenantError):
                    db.session.flush()
                db.session.rollback()
            # a row of the other store, loaded explicitly past the filter, cannot be changed or deleted
            key = _pk(model, row)
            foreign = db.session.scalar(select(model).where(*_pk_filter(model, key)).execution_options(all_stores=True))
            setattr(foreign, column, getattr(foreign, column) if column in FK_COLUMNS else 9 if column in INT_COLUMNS
                    else "hijacked")
            from sqlalchemy.orm.attributes import flag_modified

            flag_modified(foreign, column)
            with pytest.raises(TenantError):
                db.session.flush()
            db.session.rollback()
            foreign = db.session.scalar(select(model).where(*_pk_filter(model, key)).execution_options(all_stores=True))
            db.session.delete(foreign)
            with pytest.raises(TenantError):
                db.session.flush()
            db.session.rollback()
        with tenant_scope(store):
            moving = db.session.get(model, key)
            moving.store_id = other_store.id
            with pytest.raises(TenantError):
                db.session.flush()
            db.session.rollback()


def _needs_parents(model) -> bool:
    """Rows whose sample builds parent rows first (those parents would be refused first)."""
    return model in (PasswordResetToken, ProductImage, Variant, ProductTag, AttributeValue, VariantAttributeValue,
                     StockBatch, StockItem, CartItem, OrderLine, OrderAdjustment, OrderEvent, CouponRedemption,
                     BalanceTransaction, Review, BalanceTopUp)


def test_creating_a_store_row_with_no_store_bound_is_refused(app, store):
    with app.app_context():
        db.session.add(Blacklist(kind="ip", value="1.2.3.4"))
        with pytest.raises(TenantError):
            db.session.flush()
        db.session.rollback()


def test_bulk_insert_is_stamped_and_foreign_rows_refused(app, store, other_store):
    from sqlalchemy import insert

    with app.app_context():
        with tenant_scope(store):
            db.session.execute(insert(Blacklist), [{"kind": "ip", "value": "9.9.9.1"}, {"kind": "ip", "value": "9.9.9.2"}])
            assert {b.store_id for b in db.session.scalars(select(Blacklist))} == {store.id}
            with pytest.raises(TenantError):
                db.session.execute(insert(Blacklist), [{"kind": "ip", "value": "9.9.9.3", "store_id": other_store.id}])
            db.session.rollback()


def test_the_database_refuses_a_negative_balance(app, store, make):
    from sqlalchemy.exc import IntegrityError

    user = make.user(store, balance=500)
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(User).where(User.id == user.id).values(balance=User.balance - 500))
        with pytest.raises(IntegrityError):
            db.session.execute(update(User).where(User.id == user.id).values(balance=User.balance - 1))
        db.session.rollback()


def test_a_statement_kept_and_run_again_is_scoped_to_each_run_s_own_store(app, store, other_store):
    """A statement object run many times (the catalog keeps its page statements) reuses one scoped
    copy (tenancy._with_criteria), the store given as a parameter on each run: each run still sees
    and changes only the bound store's rows, nothing bound still sees none, whatever ran before.
    An UPDATE that synchronizes the session by evaluating its criteria in Python (the default) gets
    the store's id in the statement instead, and the loaded row it matched shows the change."""
    from tenancy import _STORE_CRITERIA, _with_criteria

    kept_select = select(Blacklist.value).order_by(Blacklist.value)
    kept_update = update(Blacklist).values(reason="seen")  # synchronize_session "auto": evaluated
    kept_fetch = (update(Blacklist).values(reason="fetched").returning(Blacklist.value)
                  .execution_options(synchronize_session="fetch"))
    with app.app_context():
        for s, value in ((store, "1.1.1.1"), (other_store, "2.2.2.2")):
            with tenant_scope(s):
                db.session.add(Blacklist(kind="ip", value=value))
                db.session.commit()
        for _ in range(2):
            for s, value in ((store, "1.1.1.1"), (other_store, "2.2.2.2")):
                with tenant_scope(s):
                    assert db.session.scalars(kept_select).all() == [value]
                    loaded = db.session.scalars(select(Blacklist)).one()
                    assert db.session.execute(kept_update).rowcount == 1
                    assert loaded.reason == "seen"  # the evaluated criteria matched the loaded row
                    assert db.session.scalars(kept_fetch).all() == [value]
                    assert loaded.reason == "fetched"
                    db.session.rollback()
            assert db.session.scalars(kept_select).all() == []
            assert db.session.execute(kept_fetch).all() == []
            db.session.rollback()
        with tenant_scope(store):
            mine = _with_criteria(kept_select, _STORE_CRITERIA)
            assert _with_criteria(kept_select, _STORE_CRITERIA) is mine
            # the scoped copy holds no store id: run without the session's listener (no parameter),
            # it is refused, never run unfiltered
            with pytest.raises(StatementError, match="tenancy_store_id"):
                db.session.connection().execute(mine)
            db.session.rollback()
        with tenant_scope(other_store):
            assert _with_criteria(kept_select, _STORE_CRITERIA) is mine  # one copy for every store
