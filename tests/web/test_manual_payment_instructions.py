"""Manual payment instructions: the store says how a shopper who chose MANUAL pays it (bank
details, a PayPal address...). Saved from the dashboard's payments page and the API's config
document (bad input refused, nothing saved), shown escaped with its line breaks on the checkout,
the order page of a waiting MANUAL order and the 'order received' email."""
from __future__ import annotations

from models import Store
from services.stores import MANUAL_INSTRUCTIONS_MAX, settings_of, update_settings
from tests.web.test_admin_payments_pages import admin_client, in_store, post, text
from tests.web.test_cart_checkout_pages import add, checkout, new_client, shop  # noqa: F401 (fixture)

INSTRUCTIONS = "Bank transfer: IBAN PT50 0002 0123 1234 5678 9015 4\nReference: your order number"
SCRIPT = "Pay to <script>alert(1)</script> & co"


def saved(app, store) -> str:
    with in_store(app, store) as session:
        return settings_of(session.get(Store, store.id)).manual_payment_instructions


def set_instructions(app, store, value: str) -> None:
    with in_store(app, store) as session:
        update_settings(session.get(Store, store.id), {"manual_payment_instructions": value})
        session.commit()


def test_the_admin_saves_the_instructions_on_the_payments_page(app, make, store):
    client = admin_client(app, make, store)
    response = post(client, "/admin/payments/manual", {"manual_payment_instructions": f"  {INSTRUCTIONS}\r\n"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/payments#manual-h")
    assert saved(app, store) == INSTRUCTIONS  # trimmed, line breaks kept as \n
    page = client.get("/admin/payments")
    assert "Manual payment instructions saved." in text(page)
    assert "PT50 0002 0123 1234 5678 9015 4" in page.data.decode()  # shown back in the form

    cleared = post(client, "/admin/payments/manual", {"manual_payment_instructions": "   "})
    assert cleared.status_code == 303 and saved(app, store) == ""


def test_bad_instructions_on_the_page_are_refused_with_a_message_and_nothing_saved(app, make, store):
    set_instructions(app, store, INSTRUCTIONS)
    client = admin_client(app, make, store)
    too_long = post(client, "/admin/payments/manual", {"manual_payment_instructions": "x" * (MANUAL_INSTRUCTIONS_MAX + 1)})
    assert too_long.status_code == 422
    assert f"at most {MANUAL_INSTRUCTIONS_MAX} characters" in text(too_long)
    control = post(client, "/admin/payments/manual", {"manual_payment_instructions": "IBAN\x00PT50"})
    assert control.status_code == 422 and "control character" in text(control)
    assert saved(app, store) == INSTRUCTIONS


def test_the_api_config_document_reads_and_writes_the_instructions(app, client, make, store):
    headers = make.headers(make.user(store, role="ADMIN"), store)
    assert client.get("/api/admin/config", headers=headers).get_json()["manual_payment_instructions"] == ""
    response = client.post("/api/admin/config/update", headers=headers,
                           json={"manual_payment_instructions": INSTRUCTIONS})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["manual_payment_instructions"] == INSTRUCTIONS
    assert saved(app, store) == INSTRUCTIONS

    for bad, words in (("x" * (MANUAL_INSTRUCTIONS_MAX + 1), "at most 2000 characters"), (["a list"], "must be text")):
        refused = client.post("/api/admin/config/update", headers=headers,
                              json={"manual_payment_instructions": bad, "review_reward": 3})
        assert refused.status_code == 422, refused.get_json()
        error = refused.get_json()["error"]
        assert words in " ".join(error["details"]["manual_payment_instructions"])
        assert words in error["message"]
    control = client.post("/api/admin/config/update", headers=headers,
                          json={"manual_payment_instructions": "a\x07bell", "review_reward": 3})
    assert control.status_code == 422 and "control character" in control.get_data(as_text=True)
    assert saved(app, store) == INSTRUCTIONS
    assert client.get("/api/admin/config", headers=headers).get_json()["review_reward"] == 0  # nothing saved

    put = client.put("/api/tenant/settings", headers=headers, json={"manual_payment_instructions": None})
    assert put.status_code == 200, put.get_json()
    assert saved(app, store) == ""


def test_checkout_order_page_and_email_show_the_instructions_escaped(app, client, make, store, shop, mail_outbox):  # noqa: F811
    set_instructions(app, store, f"{SCRIPT}\nIBAN PT50 1234")
    add(client, shop.steam, 1)
    page = client.get("/checkout").data.decode()
    assert 'data-testid="manual-instructions">Pay to &lt;script&gt;alert(1)&lt;/script&gt; &amp; co\nIBAN PT50 1234<' in page
    assert "<script>alert(1)" not in page

    link = checkout(client, "MANUAL", email="guest@example.com").headers["Location"]
    order_page = client.get(link).data.decode()
    assert "How to pay:" in order_page and "Pay to &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in order_page
    assert "<script>alert(1)" not in order_page

    (message,) = mail_outbox
    assert message.subject.endswith("Order #1 received")
    assert f"How to pay:\n{SCRIPT}\nIBAN PT50 1234" in message.body  # the text part: as typed
    html = message.alternatives[0][0]
    assert "Pay to &lt;script&gt;alert(1)&lt;/script&gt; &amp; co<br>IBAN PT50 1234" in html
    assert "<script>alert(1)" not in html


def test_without_instructions_the_wording_stays_as_it_was(app, client, make, store, shop, mail_outbox):  # noqa: F811
    add(client, shop.steam, 1)
    page = client.get("/checkout").data.decode()
    assert "Pay the store directly" in page and 'data-testid="manual-instructions"' not in page
    link = checkout(client, "MANUAL", email="guest@example.com").headers["Location"]
    order_page = client.get(link).data.decode()
    assert "Waiting for the store to confirm your payment" in order_page and "How to pay" not in order_page
    (message,) = mail_outbox
    assert "It waits for the store to confirm your payment" in message.body and "How to pay" not in message.body


def test_the_instructions_show_only_on_a_waiting_manual_order(app, client, make, store, shop):  # noqa: F811
    set_instructions(app, store, INSTRUCTIONS)
    add(client, shop.steam, 1)
    admin = admin_client(app, make, store)
    link = checkout(client, "MANUAL", email="guest@example.com").headers["Location"]
    assert "How to pay:" in client.get(link).data.decode()
    assert "How to pay:" not in admin.get("/admin/orders/1").data.decode()  # the staff's view says "approve it"
    approved = post(admin, "/admin/orders/1/approve", page="/admin/orders/1")
    assert approved.status_code == 303
    assert "How to pay:" not in client.get(link).data.decode()
    assert new_client(app).get(link).status_code == 200
