"""Product cards are rendered once per what they show (web.card_parts) and served from a
per-process dict: a change of price, stock, title or category shows on the next page, and the
wishlist heart stays each viewer's own (a guest's sign-in heart, back to the page it is on; a
shopper's saved heart)."""
from __future__ import annotations

from extensions import db
from models import Product
from services import categories as category_service
from services import products as product_service
from tenancy import tenant_scope
from tests.web.test_auth_pages import csrf, login


def _card(page: str, title: str) -> str:
    start = page.index(f">{title}</a>")
    return page[page.rindex('<article class="product-card"', 0, start):page.index("</article>", start)]


def test_a_cached_card_follows_its_product_and_its_viewer(app, client, store, make):
    with app.app_context(), tenant_scope(store):
        category = category_service.create_category(title="Gift Cards")
        product = product_service.create_product({"title": "Dice", "category_id": category.id,
                                                  "variants": [{"title": "Standard", "price": 1250}]})
        db.session.commit()
        product_id, category_id = product.id, category.id
    first = _card(client.get("/search").get_data(as_text=True), "Dice")
    assert "12.50" in first and "Gift Cards" in first and 'aria-label="Sign in to save Dice' in first
    assert _card(client.get("/search").get_data(as_text=True), "Dice") == first  # the same card, again

    def change(**values) -> str:
        with app.app_context(), tenant_scope(store):
            row = db.session.get(Product, product_id)
            for name, value in values.items():
                setattr(row, name, value)
            db.session.commit()
        return _card(client.get("/search").get_data(as_text=True), values.get("title", "Dice"))

    assert "9.90" in (card := change(starting_at=990)) and "12.50" not in card  # each field on its own
    assert "Out of stock" in change(stock_total=0)
    assert "Featured" in change(is_featured=True)
    with app.app_context(), tenant_scope(store):
        category_service.update_category(category_service.get_category(category_id), {"title": "Games"})
        db.session.commit()
    changed = _card(client.get("/search").get_data(as_text=True), "Dice")
    assert "Games" in changed and "Gift Cards" not in changed
    assert "Dice Deluxe" in change(title="Dice Deluxe")

    user = make.user(store)
    login(client, user.email)
    page = client.get("/search")
    assert 'aria-pressed="false"' in _card(page.get_data(as_text=True), "Dice Deluxe")
    client.post(f"/wishlist/toggle/{product_id}", data={"csrf_token": csrf(page.data)})
    mine = _card(client.get("/search").get_data(as_text=True), "Dice Deluxe")
    assert 'aria-pressed="true"' in mine and "Sign in to save" not in mine
    guest = _card(app.test_client().get("/search").get_data(as_text=True), "Dice Deluxe")
    assert 'aria-label="Sign in to save Dice Deluxe' in guest and 'aria-pressed="true"' not in guest
    assert 'name="next" value="/search"' in guest
    # a guest's heart is cached with the card, but it comes back to the page it was on
    other = _card(app.test_client().get("/search?q=dice").get_data(as_text=True), "Dice Deluxe")
    assert 'name="next" value="/search?q=dice"' in other


def test_a_reseller_sees_their_own_price_on_the_cards_and_no_one_else_does(app, store, make):
    """The product page and the cart give a reseller their own price; the grids (home, search)
    showed them the list price. The cached card is keyed by the viewer's discount, so their card
    never reaches a shopper or a guest."""
    with app.app_context(), tenant_scope(store):
        product_service.create_product({"title": "Dice", "is_featured": True,
                                        "variants": [{"title": "Standard", "price": 1250}]})
        db.session.commit()
    reseller = make.user(store, role="RESELLER", discount_bps=2000)
    shopper = make.user(store)
    theirs = app.test_client()
    login(theirs, reseller.email)
    for path in ("/search", "/"):
        card = _card(theirs.get(path).get_data(as_text=True), "Dice")
        assert 'from <strong>€10.00</strong>' in card, path  # 12.50 less 20 %
        assert 'data-testid="card-list-price"><span class="visually-hidden">instead of </span>€12.50<' in card
    mine = app.test_client()
    login(mine, shopper.email)
    for client in (mine, app.test_client()):
        card = _card(client.get("/search").get_data(as_text=True), "Dice")
        assert 'from <strong>€12.50</strong>' in card and "€10.00" not in card and "card-list-price" not in card
