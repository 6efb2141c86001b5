"""Customer self-service (issue 14): /api/customers/me (profile), its password, the personal-data
export and the account's own deletion."""
from __future__ import annotations

from sqlalchemy import String, Text, func, or_, select

import models  # noqa: F401 - every table in the metadata
from models import Base, Campaign, CampaignRecipient, Order, ReplacementRequest, User
from services import account as account_service
from tests.factories import PASSWORD

from .conftest import error_code
from .shop import DIGITAL_CODES, in_store, shop_fixture  # noqa: F401

ME = "/api/customers/me"
ADDRESS = {"name": "Ana Buyer", "line1": "Rua das Flores 12", "city": "Lisboa", "postal_code": "1200-195",
           "country": "PT", "phone": "+351 912 345 678"}


def _buy(client, shop, payment_method="BALANCE") -> dict:
    assert client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1},
                       headers=shop.headers).status_code == 200
    placed = client.post("/api/orders/checkout", json={"payment_method": payment_method}, headers=shop.headers)
    assert placed.status_code == 201, placed.get_json()
    return placed.get_json()


def test_the_profile_reads_and_changes_name_username_phone_and_locale(client, shop, make, store):
    me = client.get(ME, headers=shop.headers)
    assert me.status_code == 200
    assert {"username": "buyer", "email": "buyer@example.com", "full_name": "", "phone": "",
                                  "locale": None, "balance": 50.0}.items() <= me.get_json().items()
    changed = client.put(ME, json={"name": "  Ana   Buyer ", "username": "ana", "phone": "+351 912 345 678",
                                   "locale": "pt_PT"}, headers=shop.headers)
    assert changed.status_code == 200, changed.get_json()
    assert {"full_name": "Ana Buyer", "name": "Ana Buyer", "username": "ana",
                                       "phone": "+351 912 345 678", "locale": "pt-PT"}.items() <= changed.get_json().items()
    assert client.get(ME, headers=shop.headers).get_json()["username"] == "ana"
    make.user(store, username="taken")
    clash = client.put(ME, json={"username": "Taken"}, headers=shop.headers)
    assert clash.status_code == 409 and error_code(clash) == "username_taken"
    for bad, code in (({"phone": "call me"}, "invalid_phone"), ({"locale": "xx-nowhere"}, "invalid_locale"),
                      ({}, "nothing_to_change")):
        answer = client.put(ME, json=bad, headers=shop.headers)
        assert answer.status_code == 422 and error_code(answer) == code, bad
    assert client.put(ME, json={"role": "ADMIN"}, headers=shop.headers).status_code == 422
    assert client.put(ME, json={"locale": None}, headers=shop.headers).get_json()["locale"] is None
    assert client.get(ME).status_code == 401


def test_a_password_change_needs_the_current_one_and_ends_every_other_token(client, shop, make, store):
    other_device = make.headers(shop.buyer, store)
    wrong = client.put(f"{ME}/password", json={"current_password": "not-it-at-all", "new_password": "a-new-pass-42"},
                       headers=shop.headers)
    assert wrong.status_code == 422 and error_code(wrong) == "wrong_password"
    weak = client.put(f"{ME}/password", json={"current_password": PASSWORD, "new_password": "12345678"},
                      headers=shop.headers)
    assert weak.status_code == 422
    done = client.put(f"{ME}/password", json={"current_password": PASSWORD, "new_password": "a-new-pass-42"},
                      headers=shop.headers)
    assert done.status_code == 200, done.get_json()
    fresh = {"Authorization": f"Bearer {done.get_json()['access_token']}"}
    assert client.get(ME, headers=other_device).status_code == 401
    assert client.get(ME, headers=shop.headers).status_code == 401
    assert client.get(ME, headers=fresh).status_code == 200
    assert client.post("/api/auth/login", json={"email": "buyer@example.com", "password": PASSWORD}).status_code == 401
    assert client.post("/api/auth/login", json={"email": "buyer@example.com",
                                                "password": "a-new-pass-42"}).status_code == 200


def _personal_fk_columns() -> set[tuple[str, str]]:
    return {(table.name, column.name) for table in Base.metadata.tables.values() for column in table.columns
            for fk in column.foreign_keys if fk.column.table.name == "users" and fk.column.name == "id"}


def test_every_foreign_key_to_users_is_exported_or_excluded_with_a_reason():
    """A new model with a user foreign key must say how the export treats it (services.account)."""
    exported, excluded = set(account_service.EXPORTED), set(account_service.NOT_EXPORTED)
    assert not exported & excluded
    missing = _personal_fk_columns() - exported - excluded
    assert not missing, f"add these to services.account.EXPORTED or NOT_EXPORTED (with a reason): {sorted(missing)}"
    assert all(reason.strip() for reason in account_service.NOT_EXPORTED.values())
    assert not (exported | excluded) - _personal_fk_columns(), "stale entries"


def test_the_registry_check_catches_a_new_model_with_a_user_key():
    from sqlalchemy import Column, ForeignKey, Table
    table = Table("test_only_wishes", Base.metadata, Column("user_id", String(36), ForeignKey("users.id")))
    try:
        assert ("test_only_wishes", "user_id") in _personal_fk_columns() - set(account_service.EXPORTED) \
            - set(account_service.NOT_EXPORTED)
    finally:
        Base.metadata.remove(table)


def test_the_export_has_every_section_and_deliverables_only_as_the_buyer_sees_them(client, shop, app):
    paid = _buy(client, shop)
    client.post(f"/api/orders/{paid['id']}/create-review", json={"rating": 5, "text_review": "Great"},
                headers=shop.headers)
    client.post("/api/addresses", json=ADDRESS, headers=shop.headers)
    client.put("/api/customers/me/preferences", json={"marketing_emails": False}, headers=shop.headers)
    client.put(ME, json={"full_name": "Ana Buyer", "phone": "+351 912 345 678"}, headers=shop.headers)
    saved = client.post("/api/wishlist", json={"product_id": paid["lines"][0]["product_id"]}, headers=shop.headers)
    assert saved.status_code == 201, saved.get_json()
    answer = client.get(f"{ME}/data-export", headers=shop.headers)
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    data = answer.get_json()
    sections = {section for section, _ in account_service.EXPORTED.values()}
    assert sections | {"profile", "currency", "exported_at"} == set(data)
    assert {"username": "buyer", "email": "buyer@example.com", "full_name": "Ana Buyer",
                                    "phone": "+351 912 345 678"}.items() <= data["profile"].items()
    [order] = data["orders"]
    assert order["id"] == paid["id"] and order["total"] == 10.0 and order["email"] == "buyer@example.com"
    # amounts are major units of the store's currency, as everywhere in the API
    assert data["currency"] == order["currency"] == "EUR" and data["profile"]["balance"] == 40.0
    assert (order["subtotal"], order["lines"][0]["unit_price"], order["lines"][0]["line_subtotal"]) == (10.0, 10.0, 10.0)
    assert order["cart_snapshot"][0]["unit_price"] == 10.0
    assert [item["deliverable"] for line in order["lines"] for item in line["items"]] == paid["deliverables"]
    assert [a["postal_code"] for a in data["addresses"]] == ["1200-195"]
    assert data["reviews"][0]["text_review"] == "Great"
    assert sorted(row["amount"] for row in data["balance_ledger"]) == [-10.0, 50.0]  # 50.00 credited, 10.00 spent
    assert min(row["balance_after"] for row in data["balance_ledger"]) == 40.0
    assert data["email_preferences"]["marketing_emails"] is False and data["email_preferences"]["chosen"]
    assert [w["product_id"] for w in data["wishlist"]] == [paid["lines"][0]["product_id"]]
    text = answer.get_data(as_text=True)
    for secret in ("password", "token_hash", "deliverable_encrypted", "guest_token", "cost_total"):
        assert secret not in text, secret
    # an unpaid order shows no deliverables, and another user's data is not there
    with in_store(shop) as session:
        session.execute(Order.__table__.update().where(Order.id == paid["id"]).values(paid_at=None))
        session.commit()
    again = client.get(f"{ME}/data-export", headers=shop.headers).get_json()
    assert all(not line["items"] for line in again["orders"][0]["lines"])
    unsold = set(DIGITAL_CODES) - set(paid["deliverables"])
    assert not any(code in answer.get_data(as_text=True) for code in unsold)


def test_deleting_needs_the_password_and_waits_for_pending_payments_and_open_replacements(client, shop, app):
    wrong = client.delete(ME, json={"password": "not-it-at-all"}, headers=shop.headers)
    assert wrong.status_code == 422 and error_code(wrong) == "wrong_password"
    order = _buy(client, shop)
    with in_store(shop) as session:
        session.execute(Order.__table__.update().where(Order.id == order["id"])
                        .values(status="PENDING", payment_status="UNPAID"))
        session.commit()
    refused = client.delete(ME, json={"password": PASSWORD}, headers=shop.headers)
    assert refused.status_code == 409 and error_code(refused) == "payment_pending"
    with in_store(shop) as session:
        session.execute(Order.__table__.update().where(Order.id == order["id"])
                        .values(status="COMPLETED", payment_status="PAID"))
        item_id = session.scalar(select(models.StockItem.id).where(models.StockItem.order_id == order["id"]))
        session.add(ReplacementRequest(order_id=order["id"], stock_item_id=item_id, user_id=shop.buyer.id,
                                       reason="broken", status="PENDING"))
        session.commit()
    refused = client.delete(ME, json={"password": PASSWORD}, headers=shop.headers)
    assert refused.status_code == 409 and error_code(refused) == "replacement_open"
    assert client.get(ME, headers=shop.headers).status_code == 200


def test_deleting_waits_while_a_paid_parcel_is_not_shipped(client, shop, app):
    """The order needs its address until the store sends it: 409 ``shipment_pending``, then fine."""
    from tests.api.shop import ship

    assert client.post("/api/cart/items", json={"subcategory_id": shop.physical, "quantity": 1},
                       headers=shop.headers).status_code == 200
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE", **ship(shop)}, headers=shop.headers)
    assert placed.status_code == 201, placed.get_json()
    refused = client.delete(ME, json={"password": PASSWORD}, headers=shop.headers)
    assert refused.status_code == 409 and error_code(refused) == "shipment_pending"
    with in_store(shop) as session:
        assert session.get(Order, placed.get_json()["id"]).shipping_address["city"]
        session.execute(Order.__table__.update().where(Order.id == placed.get_json()["id"])
                        .values(fulfilled_at=func.now(), status="COMPLETED"))
        session.commit()
    assert client.delete(ME, json={"password": PASSWORD}, headers=shop.headers).status_code == 200


def _text_columns() -> list:
    return [column for table in Base.metadata.sorted_tables for column in table.columns
            if isinstance(column.type, String | Text) and table.name != "audit_log"]


def _holders(session, values: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text column, in every table, holding one of ``values``."""
    found = []
    for column in _text_columns():
        hits = session.execute(select(column).where(or_(*[func.lower(column).contains(v.lower()) for v in values]))
                               .execution_options(all_stores=True)).scalars().all()
        found += [(column.table.name, column.name, hit) for hit in hits]
    return found


def test_deletion_leaves_no_personal_data_in_any_table(client, shop, app, make, store):
    order = _buy(client, shop)
    client.put(ME, json={"full_name": "Zelda Quixote", "username": "zeldaq", "phone": "+351 919 191 919",
                         "locale": "pt-PT"}, headers=shop.headers)
    client.post(f"/api/orders/{order['id']}/create-review", json={"rating": 5, "text_review": "Great"},
                headers=shop.headers)  # by "zeldaq"
    client.post("/api/addresses", json={**ADDRESS, "name": "Zelda Quixote", "line1": "Rua Secreta 77",
                                        "company": "Quixote Lda"}, headers=shop.headers)
    client.put("/api/customers/me/preferences", json={"product_news": False}, headers=shop.headers)
    with in_store(shop) as session:
        campaign = Campaign(subject="Hello", body_markdown="x")
        session.add(campaign)
        session.flush()
        session.add(CampaignRecipient(campaign_id=campaign.id, user_id=shop.buyer.id, email="buyer@example.com"))
        session.commit()
    personal = ["buyer@example.com", "zeldaq", "Zelda Quixote", "+351 919 191 919", "Rua Secreta 77", "Quixote Lda"]
    old_token = shop.headers
    with in_store(shop) as session:  # the query does see them before
        before = {(table, column) for table, column, _ in _holders(session, personal)}
    assert {("users", "email"), ("users", "username"), ("users", "full_name"), ("users", "phone"),
            ("addresses", "line1"), ("addresses", "company"), ("orders", "email"), ("reviews", "reviewed_by"),
            ("campaign_recipients", "email")} <= before, before
    answer = client.delete(ME, json={"password": PASSWORD}, headers=shop.headers)
    assert answer.status_code == 200, answer.get_json()
    with in_store(shop) as session:
        assert not _holders(session, personal), _holders(session, personal)
        user = session.get(User, shop.buyer.id)
        assert user.erased_at is not None and not user.is_active and user.full_name == "" and user.locale is None
        kept = session.get(Order, order["id"])  # the books keep the order and its ledger rows
        assert kept is not None and kept.total == 1000 and kept.email.endswith("@deleted.invalid")
        assert session.scalar(select(func.count()).select_from(models.BalanceTransaction)
                              .where(models.BalanceTransaction.user_id == shop.buyer.id)) >= 2
        assert session.scalar(select(func.count()).select_from(models.Address)) == 0
    assert client.get(ME, headers=old_token).status_code == 401
    assert client.post("/api/auth/login", json={"email": "buyer@example.com", "password": PASSWORD}).status_code == 401


def test_a_new_account_may_take_the_deleted_ones_email_and_username(client, shop):
    assert client.delete(ME, json={"password": PASSWORD}, headers=shop.headers).status_code == 200
    again = client.post("/api/auth/register", json={"email": "buyer@example.com", "username": "buyer",
                                                    "password": "a-new-pass-42"})
    assert again.status_code == 201, again.get_json()
    with in_store(shop) as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == "buyer@example.com")) == 1


def test_the_profile_tells_every_field_problem_in_one_answer(client, shop, make, store):
    make.user(store, username="taken")
    both = client.put(ME, json={"full_name": "Ana New", "username": "taken", "phone": "call me",
                                "locale": "xx-nowhere"}, headers=shop.headers)
    assert both.status_code == 409 and error_code(both) == "username_taken"
    assert set(both.get_json()["error"]["details"]) == {"username", "phone", "locale"}
    me = client.get(ME, headers=shop.headers).get_json()
    assert (me["full_name"], me["username"], me["phone"], me["locale"]) == ("", "buyer", "", None)
