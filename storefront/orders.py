"""Order pages: the buyer's (or staff's) order page, the guest's secret-link page and the
delivered items as a .txt download. Showing a paid order's items to its buyer logs their first
reveal, so these GETs may write (``transactions.write_lock``)."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request
from flask_login import current_user

from models import Role
from services import orders, payments, refunds, replacements
from services import users as user_service
from services.errors import DomainError, NotFound
from transactions import write_lock
from web import db_savepoint, form_errors, items_download, private, role_required

from . import bp
from .forms import ActionForm, ReplaceForm
from .reviews import review_card


def order_context(order, viewer) -> dict:
    returned = request.args.get("payment")
    return {"order": order, "delivered": orders.deliverables(order, viewer=viewer, ip=request.remote_addr),
            "gifted_by": user_service.usernames({order.gifted_by_id}).get(order.gifted_by_id) if order.is_gift else None,
            "refunds": refunds.refunds_of(order.id), "can_pay": payments.can_pay_now(g.store, order),
            "replace_states": replacements.item_states(order) if order.paid_at else {},
            "replacement_requests": replacements.requests_of(order.id),
            "returned": returned if returned in ("done", "cancelled") else None, "pay_form": ActionForm(),
            "attempt_over": returned == "done" and order.payment_status == "UNPAID" and payments.attempt_over(order),
            "replace_form": None, "replace_item": None,
            **review_card(order, viewer)}


def _pay(order, guest_token: str | None):
    """Pay now: the provider's page for an unpaid order (the same page again while it is open)."""
    ActionForm().validate_on_submit()
    page = request.host_url.rstrip("/") + orders.order_path(order, guest_token)
    try:
        with db_savepoint():
            payment = payments.start_order_payment(g.store, order, success_url=page + "?payment=done",
                                                   cancel_url=page + "?payment=cancelled")
    except DomainError as error:
        flash(error.message, "error")
        return redirect(orders.order_path(order, guest_token), 303)
    return redirect(payment.redirect_url, 303)


@bp.post("/account/orders/<int:order_number>/pay")
@role_required(Role.USER)
def pay_order(order_number: int):
    return _pay(_own_order(order_number), None)


@bp.post("/orders/guest/<token>/pay")
def pay_guest_order(token: str):
    return _pay(_guest_order(token), token)


def _ready_to_write(order, viewer, reload):
    """Showing a paid order the first time writes (the reveal log), but a GET began SQLite's
    transaction deferred: a write upgrading a stale read snapshot fails at once instead of
    waiting. So end the read and go on in a write transaction (BEGIN IMMEDIATE), order reloaded."""
    if not orders.reveal_pending(order, viewer):
        return order
    return reload() if write_lock() else order


def _own_order(order_number: int):
    def load():
        try:
            return orders.get_by_number(order_number)
        except NotFound:
            abort(404)

    order, viewer = load(), current_user._get_current_object()
    if not orders.can_view(order, viewer):
        abort(404)  # someone else's order: as if it did not exist
    return _ready_to_write(order, viewer, load)


def _guest_order(token: str):
    if not token or len(token) > 100:
        abort(404)

    def load():
        try:
            return orders.get_by_guest_token(token)
        except NotFound:
            abort(404)

    return _ready_to_write(load(), None, load)


@bp.get("/account/orders/<int:order_number>")
@role_required(Role.USER)
def order_page(order_number: int):
    order = _own_order(order_number)
    html = render_template("storefront/orders/order.html", **order_context(order, current_user._get_current_object()),
                           items_url=orders.items_path(order), pay_url=f"/account/orders/{order.order_number}/pay")
    return private(Response(html, mimetype="text/html"))


@bp.post("/account/orders/<int:order_number>/replace")
@role_required(Role.USER)
def replace_item(order_number: int):
    """The buyer asks for a new item in place of a delivered one (services.replacements)."""
    order = _own_order(order_number)
    viewer = current_user._get_current_object()
    form = ReplaceForm()
    if form.validate_on_submit():
        with form_errors(form, field="reason"):
            request_ = replacements.request_replacement(order, user=viewer, stock_item_id=form.stock_item_id.data,
                                                        reason=form.reason.data)
            flash("Your new item is below, in place of the one you reported." if request_.status == "APPROVED"
                  else "Your request is sent: the store will look at it soon.", "success")
            return redirect(orders.order_path(order), 303)
    context = {**order_context(order, viewer), "replace_form": form, "replace_item": form.stock_item_id.data}
    html = render_template("storefront/orders/order.html", **context, items_url=orders.items_path(order),
                           pay_url=f"/account/orders/{order.order_number}/pay")
    return private(Response(html, status=422, mimetype="text/html"))


@bp.get("/account/orders/<int:order_number>/items.txt")
@role_required(Role.USER)
def order_items(order_number: int):
    return items_download(_own_order(order_number), current_user._get_current_object())


@bp.get("/orders/guest/<token>")
def guest_order(token: str):
    order = _guest_order(token)
    html = render_template("storefront/orders/order.html", **order_context(order, None), guest=True,
                           items_url=orders.items_path(order, token), pay_url=f"/orders/guest/{token}/pay")
    return private(Response(html, mimetype="text/html"), secret_url=True)


@bp.get("/orders/guest/<token>/items.txt")
def guest_order_items(token: str):
    return items_download(_guest_order(token), None, secret_url=True)
