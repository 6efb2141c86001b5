"""The cart and checkout pages, and the pages' cart identity.

Signed-in shoppers use their own cart (``get_cart(user=...)``); anonymous ones a random key kept
in the Flask session (``session[web.CART_KEY]``), created on the first add. ``web.page_cart_owner``
reads both, for these pages and for the API (which shows a browser the same cart). Signing in or
registering merges that cart into the user's (storefront/auth.py). Every cart change answers
htmx with the changed fragment plus the header's mini-cart as an out-of-band swap; without
JavaScript it redirects (Post/Redirect/Get).
"""
from __future__ import annotations

import secrets

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy.exc import SQLAlchemyError

from services import addresses, checkout, orders, payments, topups
from services import cart as cart_service
from services import products as product_service
from services import variants as variant_service
from services.errors import DomainError
from services.money import to_minor
from services.stores import settings_of
from web import CART_KEY, apply_form_errors, form_errors, page_cart_owner, shown_money, wants_fragment

from . import bp
from .catalog import _is_staff
from .forms import ActionForm, AddToCartForm, CheckoutForm, CouponForm, QuantityForm

PROBLEMS = {
    "unavailable": "No longer for sale: remove it to check out",
    "below_min_quantity": "Below the minimum of {min} per order",
    "above_max_quantity": "Above the maximum of {max} per order",
    "out_of_stock": "Only {stock} left in stock",
}


# --- identity -----------------------------------------------------------------------------

def buyer():
    return current_user._get_current_object() if current_user.is_authenticated else None


def current_cart(*, create: bool, lock: bool = False):
    """The shopper's cart (``services.cart.cart_for``), or None (``create=False``) when they have
    none yet. An anonymous shopper's guest key is a random one kept in the Flask session.
    ``lock``: read with its row lock (a checkout, which takes it anyway)."""
    user, key = page_cart_owner()
    if user is None and not key and create:
        key = session[CART_KEY] = "w:" + secrets.token_urlsafe(24)
    return cart_service.cart_for(user=user, guest_key=key, create=create, lock=lock)


def merge_session_cart(user) -> None:
    """Signing in or registering: the anonymous session's cart joins the user's."""
    cart_service.merge_guest_carts(user, [session.pop(CART_KEY, None)])


def _customer_key() -> str | None:
    user = buyer()
    return user.id if user else None


@bp.app_template_global("mini_cart_count")
def mini_cart_count() -> int:
    """Units in the shopper's cart, for the header (one query, none for a fresh visitor)."""
    if "mini_cart" not in g:
        try:
            if current_user.is_authenticated:
                g.mini_cart = cart_service.cart_quantity(user_id=current_user.id)
            else:
                g.mini_cart = cart_service.cart_quantity(guest_key=session.get(CART_KEY))
        except SQLAlchemyError:
            g.mini_cart = 0
    return g.mini_cart


def _fresh_count() -> None:
    g.pop("mini_cart", None)


@bp.app_template_global("problem_text")
def problem_text(problem: str, line) -> str:
    v = line.variant
    return PROBLEMS.get(problem, problem).format(min=v.min_quantity if v else 1, max=v.max_quantity if v else 0,
                                                 stock=v.stock_count if v else 0)


# --- add to cart (the product page's buy panel) ---------------------------------------------

def _panel(variant, form, *, added: str | None = None, status: int = 200):
    context = {"product": variant.product, "chosen": variant, "quantity_limits": variant_service.quantity_limits,
               "cart_form": form, "added": added}
    if wants_fragment():
        return render_block("storefront/catalog/product.html", "buy_panel_response", **context), status
    item = product_service.get_product(variant.product.slug, include_hidden=_is_staff())
    variants = variant_service.visible_variants(item, include_hidden=False)
    chosen = next((v for v in variants if v.id == variant.id), variant)
    return render_template("storefront/catalog/product.html", product=item, variants=variants, chosen=chosen,
                           quantity_limits=variant_service.quantity_limits, cart_form=form, added=added), status


@bp.post("/cart/add")
def cart_add():
    form = AddToCartForm()
    variant_id = (form.variant_id.data or request.form.get("variant_id") or "").strip()
    variant = variant_service.get_variant(variant_id)  # 404 for a wrong id; the cart refuses what is not for sale
    if not form.validate_on_submit():
        return _panel(variant, form, status=422)
    with form_errors(form, field="quantity"):
        cart_service.add_item(current_cart(create=True), variant.id, form.quantity.data)
        message = f"Added {form.quantity.data} × {variant.product.title} – {variant.title} to your cart."
        _fresh_count()
        if wants_fragment():
            return _panel(variant, AddToCartForm(formdata=None), added=message)
        flash(message, "success")
        return redirect(url_for("storefront.cart"), 303)
    return _panel(variant_service.get_variant(variant_id), form, status=422)


# --- the cart page --------------------------------------------------------------------------

def _cart_context(cart, *, coupon_form=None, line_errors=None, notice=None, error=None) -> dict:
    user = buyer()
    priced = cart_service.price(cart, buyer=user, customer_key=_customer_key()) if cart is not None else None
    return {"cart": cart, "priced": priced, "coupon_form": coupon_form or CouponForm(formdata=None),
            "line_errors": line_errors or {}, "notice": notice, "error": error,
            "repriced": session.get("repriced") or {}, "action_form": ActionForm(formdata=None)}


def _render_cart(context: dict, status: int = 200):
    if wants_fragment():
        return render_block("storefront/cart/index.html", "htmx_response", **context), status
    return render_template("storefront/cart/index.html", **context), status


def _after_change(notice: str):
    """Answer a cart change: the panel (htmx) or a redirect to /cart."""
    _fresh_count()
    if wants_fragment():
        return _render_cart(_cart_context(current_cart(create=False), notice=notice))
    flash(notice, "success")
    return redirect(url_for("storefront.cart"), 303)


def _refused(error_text: str, *, line_errors=None, coupon_form=None):
    """Answer a refused cart change (``form_errors`` has undone it): the cart with the reason."""
    _fresh_count()
    context = _cart_context(current_cart(create=False), line_errors=line_errors, coupon_form=coupon_form,
                            error=None if line_errors or coupon_form else error_text)
    return _render_cart(context, 422)


@bp.get("/cart")
def cart():
    context = _cart_context(current_cart(create=False))
    html = _render_cart(context)
    session.pop("repriced", None)  # highlighted once
    return html


@bp.post("/cart/items/<item_id>")
def cart_update(item_id: str):
    form = QuantityForm()
    cart = current_cart(create=False) or abort(404)
    if form.validate_on_submit():
        with form_errors(form, field="quantity"):
            item = cart_service.update_item(cart, item_id, form.quantity.data)
            return _after_change("Cart updated." if item is not None else "Removed from your cart.")
    return _refused("", line_errors={item_id: "; ".join(form.quantity.errors) or "Enter a whole number"})


@bp.post("/cart/items/<item_id>/remove")
def cart_remove(item_id: str):
    form = ActionForm()
    form.validate_on_submit()
    cart = current_cart(create=False) or abort(404)
    with form_errors(form):
        cart_service.remove_item(cart, item_id)
        return _after_change("Removed from your cart.")
    return _refused(" ".join(form.form_errors))


@bp.post("/cart/coupon")
def cart_coupon():
    form = CouponForm()
    cart = current_cart(create=True)
    if form.validate_on_submit():
        with form_errors(form, field="code"):  # the precise reason, next to the field
            cart_service.apply_coupon(cart, form.code.data, buyer=buyer(), customer_key=_customer_key())
            return _after_change(f"Coupon {form.code.data.strip().upper()} applied.")
    return _refused("", coupon_form=form)


@bp.post("/cart/coupon/remove")
def cart_coupon_remove():
    ActionForm().validate_on_submit()
    cart = current_cart(create=False) or abort(404)
    cart_service.remove_coupon(cart)
    return _after_change("Coupon removed.")


@bp.post("/cart/reprice")
def cart_reprice():
    """"Got it": the shopper has seen the new prices."""
    ActionForm().validate_on_submit()
    cart = current_cart(create=False) or abort(404)
    cart_service.reprice(cart)
    session.pop("repriced", None)
    return _after_change("Thanks: the cart keeps the current prices.")


# --- checkout -----------------------------------------------------------------------------

SHIP_FIELDS = addresses.FIELDS  # the form's ship_<field> inputs


def _typed_address(form) -> dict:
    return {name: (getattr(form, f"ship_{name}").data or "").strip() for name in SHIP_FIELDS}


def _delivery(form, user, *, full: bool, method_id: str | None = None) -> checkout.Delivery:
    """What the form says about delivery. ``full`` (placing the order): the typed address as a
    whole; otherwise (showing options and totals) the typed address once it is complete and valid
    (its region can choose the tax rule, so the page shows what the order will charge), else just
    its country and postal code."""
    tax_number = form.customer_tax_number.data or None
    choice = form.address_id.data
    if user is not None and choice and choice != "new":
        return checkout.Delivery(address_id=choice, method_id=method_id, tax_number=tax_number)
    typed = _typed_address(form)
    given = any(typed[name] for name in SHIP_FIELDS if name != "country")
    if full:  # nothing typed (a pre-chosen country alone) is no address: "give a shipping address"
        return checkout.Delivery(shipping_address=typed if given else None, method_id=method_id,
                                 tax_number=tax_number)
    if given and addresses.is_valid_address(typed):  # a whole address: priced exactly as the order will be
        return checkout.Delivery(shipping_address=typed, method_id=method_id, tax_number=tax_number)
    return checkout.Delivery(country=typed["country"] or None, postal_code=typed["postal_code"] or None,
                             method_id=method_id, tax_number=tax_number)


def _shipping_context(form, user, priced) -> dict:
    """The delivery part of the page: saved addresses, the shipping options for the chosen or
    typed destination (the form's method if it still applies, else the first) and the totals."""
    physical = checkout.is_physical(priced)
    saved = addresses.list_addresses(user) if physical and user is not None else []
    form.ship_country.choices = [("", "Choose a country")] + addresses.country_choices()
    if physical and not form.address_id.data:
        form.address_id.data = saved[0].id if saved else "new"
    if physical and not form.ship_country.data:
        form.ship_country.data = settings_of(g.store).tax_country or ""
    options = []
    if physical:
        try:
            bare = checkout.totals(g.store, priced, buyer=user, delivery=_delivery(form, user, full=False))
            options = checkout.shipping_options(priced, bare.destination)
        except DomainError:  # an unknown country, someone else's address id: no options yet
            options = []
    ids = [o.method_id for o in options]
    chosen = form.shipping_method_id.data if form.shipping_method_id.data in ids else (ids[0] if ids else None)
    form.shipping_method_id.data = chosen
    try:
        totals = checkout.totals(g.store, priced, buyer=user,
                                 delivery=_delivery(form, user, full=False, method_id=chosen))
    except DomainError:
        totals = checkout.totals(g.store, priced, buyer=user)
    return {"physical": physical, "saved_addresses": saved, "ship_options": options, "totals": totals}


def _checkout_context(cart, form) -> dict:
    user = buyer()
    priced = cart_service.price(cart, buyer=user, customer_key=_customer_key())
    context = _shipping_context(form, user, priced)
    options = payments.options(g.store, user, context["totals"].total)
    if not form.payment_method.data:
        usable = [o["name"] for o in options if o["ready"] and o["affordable"]]
        form.payment_method.data = usable[0] if usable else None
    return {**context, "priced": priced, "form": form, "options": options, "user": user,
            "can_top_up": user is not None and bool(topups.methods(g.store, [o["name"] for o in options]))}


def _checkout_page(cart, form, status: int = 200):
    return render_template("storefront/cart/checkout.html", **_checkout_context(cart, form)), status


@bp.post("/checkout/shipping")
def checkout_shipping():
    """htmx: the address or country changed: the shipping options and the totals again."""
    cart = current_cart(create=False)
    if cart is None or not cart_service.load_items(cart):
        return redirect(url_for("storefront.cart"), 303)
    form = CheckoutForm()
    form.validate_on_submit()  # the CSRF check; the fields are only read here
    context = _checkout_context(cart, form)
    if not wants_fragment():
        return render_template("storefront/cart/checkout.html", **context)
    return render_block("storefront/cart/checkout.html", "shipping_response", **context)


def _place_errors(form, error: DomainError) -> None:
    """A refusal about the typed address names ``shipping_address.<field>``: show it next to the
    form's ``ship_<field>``; the delivery codes go next to their fields."""
    message, said = error.said(shown_money)
    details = {}
    for key, value in said.items():
        details[f"ship_{key.split('.', 1)[1]}" if key.startswith("shipping_address.") else key] = value
    error = type(error)(message, code=error.code, details=details, status=error.status)
    apply_form_errors(form, error, codes={"shipping_address_required": "ship_line1",
                                          "shipping_method_required": "shipping_method_id",
                                          "shipping_method_unavailable": "shipping_method_id",
                                          "address_not_found": "address_id"})


def _delivery_errors(cart, form, user) -> None:
    """What the order's delivery would be refused for (no or a wrong address, no shipping method),
    on the form: a guest whose email was refused hears about the address in the same answer."""
    priced = cart_service.price(cart, buyer=user, customer_key=_customer_key())
    if not checkout.is_physical(priced):
        return
    try:
        checkout.totals(g.store, priced, buyer=user, require=True,
                        delivery=_delivery(form, user, full=True, method_id=form.shipping_method_id.data or None))
    except DomainError as error:
        _place_errors(form, error)


@bp.route("/checkout", methods=["GET", "POST"])
def checkout_page():
    cart = current_cart(create=False, lock=request.method == "POST")  # place_order locks it: read it locked
    if cart is None or not cart_service.load_items(cart):
        flash("Your cart is empty.", "info")
        return redirect(url_for("storefront.cart"))
    form = CheckoutForm()
    if request.method == "GET":
        return _checkout_page(cart, form)
    if not form.validate_on_submit():
        return _checkout_page(cart, form, 422)
    user = buyer()
    # place_order is all or nothing by itself, and a price_changed refusal re-prices the cart
    # (which this request then commits): so no form_errors savepoint here.
    try:
        placed = checkout.place_order(g.store, cart, buyer=user, method=form.payment_method.data,
                                      email=form.email.data, note=form.note.data or "", site_url=request.host_url,
                                      ip=request.remote_addr,
                                      delivery=_delivery(form, user, full=True,
                                                         method_id=form.shipping_method_id.data or None))
    except DomainError as error:
        if error.code == "price_changed":  # the details are JSON's major units: back to minor for |money
            currency = error.details.get("currency") or g.store.currency
            session["repriced"] = {ln["subcategory_id"]: [to_minor(ln["seen_price"], currency),
                                                          to_minor(ln["price"], currency)]
                                   for ln in error.details.get("lines", [])}
            flash("Some prices changed since you added them. Check the new prices, then check out again.", "warning")
            return redirect(url_for("storefront.cart"), 303)
        if error.code in ("cart_not_buyable", "out_of_stock"):  # the cart marks the lines to fix
            flash(error.message + ": see the marked lines.", "error")
            return redirect(url_for("storefront.cart"), 303)
        if error.code == "coupon_removed":  # taken off the cart: the form, as typed, shows the total without it
            form.form_errors.append(error.message)
            return _checkout_page(current_cart(create=False), form, 409)
        if error.code.startswith("coupon_"):  # the coupon is in the cart: remove it there, or change the cart
            flash(f"{error.said(shown_money)[0]}: remove the coupon or change your cart, then check out again.", "error")
            return redirect(url_for("storefront.cart"), 303)
        _place_errors(form, error)
        if "email" in (error.details or {}):  # the email is checked first: name the delivery's gaps at once too
            _delivery_errors(cart, form, user)
        return _checkout_page(current_cart(create=False), form, 422)
    order = placed.order
    number, paid = order.order_number, order.payment_status == "PAID"
    session.pop("repriced", None)
    if placed.payment is not None:  # off to the provider's page; it sends the shopper back to the order
        return redirect(placed.redirect_url, 303)
    if paid:
        flash(f"Thank you! Order #{number} is paid: your items are below.", "success")
    else:
        flash(f"Order #{number} is placed. It waits for the store to confirm your payment.", "success")
    if placed.guest_token:
        flash("Keep this page's address: it is your link to the order (we emailed it too).", "info")
    return redirect(orders.order_path(order, placed.guest_token), 303)

