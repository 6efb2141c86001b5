"""Orders in the dashboard: the table (Staff+), the order page with its timeline and actions
(approve: Admin+, status change: Manager+, resend the email: Staff+, refund: Admin+) and the gift
form (Admin+)."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block

from models import ORDER_STATUSES, PAYMENT_STATUSES, Role, User
from services import moloni, orders, refunds
from services import users as user_service
from services import variants as variant_service
from services.errors import NotFound
from web import (
    form_errors,
    items_download,
    major_text,
    page_arg,
    role_required,
    shown_money,
    typed_money,
    wants_fragment,
)

from . import bp
from .forms import AdminActionForm, FulfillForm, GiftForm, OrderStatusForm, RefundForm

SORTS = {"created_at": "Date", "order_number": "Number", "total": "Total", "status": "Status"}
PAGE_SIZE = 25


def _date(name: str) -> date | None:
    """A date filter of the query string (YYYY-MM-DD); the service reads it as a whole UTC day."""
    try:
        return date.fromisoformat((request.args.get(name) or "").strip())
    except ValueError:
        return None


@bp.get("/orders")
@role_required(Role.STAFF)
def orders_list():
    params = {
        "q": (request.args.get("q") or "").strip()[:100],
        "status": request.args.get("status", "") if request.args.get("status") in ORDER_STATUSES else "",
        "payment_status": request.args.get("payment_status", "") if request.args.get("payment_status") in PAYMENT_STATUSES else "",
        "from": request.args.get("from", "") if _date("from") else "",
        "to": request.args.get("to", "") if _date("to") else "",
        "sort": request.args.get("sort") if request.args.get("sort") in SORTS else "created_at",
        "dir": "asc" if request.args.get("dir") == "asc" else "desc",
    }
    results = orders.list_orders(status=params["status"] or None, payment_status=params["payment_status"] or None,
                                 date_from=_date("from"), date_to=_date("to"), search=params["q"] or None,
                                 sort_by=params["sort"], sort_dir=params["dir"], page=page_arg(), page_size=PAGE_SIZE)
    ids = [o.id for o in results["items"]]
    context = {"results": results, "params": params, "sorts": SORTS, "lines": orders.lines_of(ids),
               "buyers": user_service.usernames({o.buyer_id for o in results["items"]}),
               "statuses": ORDER_STATUSES, "payment_statuses": PAYMENT_STATUSES}
    if wants_fragment():
        return render_template("admin/orders/_table.html", **context)
    return render_template("admin/orders/index.html", **context)


def _order(order_number: int):
    try:
        return orders.get_by_number(order_number)
    except NotFound:
        abort(404)


REFUNDABLE = ("PAID", "PARTIALLY_REFUNDED")


def _status_choices(order) -> list[tuple[str, str]]:
    """The statuses the order may be moved to, after a blank first choice: the select never
    stands on "Cancelled" by itself, one click from cancelling a paid order. None: no form."""
    allowed = sorted(orders.MANUAL_TRANSITIONS.get(order.status, ()))
    return [("", "Choose a new status…"), *((s, s.title()) for s in allowed)] if allowed else []


def _refund_form(order, form=None) -> RefundForm:
    form = form or RefundForm(formdata=None)
    if not order.buyer_id:  # a guest has no balance to refund to
        form.destination.choices = [c for c in form.destination.choices if c.value != "balance"]
    return form


def _detail(order, *, status_form=None, action_error: str | None = None, refund_form=None, fulfill_form=None,
            status: int = 200):
    viewer = current_user._get_current_object()
    events = orders.timeline(order)
    people = user_service.usernames({e.actor_id for e in events} | {order.buyer_id, order.gifted_by_id})
    buyer = user_service.users_by_id([order.buyer_id]).get(order.buyer_id)
    form = status_form or OrderStatusForm(formdata=None)
    form.status.choices = _status_choices(order)
    delivered = orders.deliverables(order, viewer=viewer, ip=request.remote_addr)
    if fulfill_form is None:
        fulfill_form = FulfillForm(formdata=None, carrier=order.carrier, tracking_number=order.tracking_number,
                                   tracking_url=order.tracking_url)
    refundable = refunds.refundable(order)  # a gift (nothing paid) or a fully refunded order: no refund form
    return render_template("admin/orders/detail.html", order=order, delivered=delivered, fulfill_form=fulfill_form,
                           ships=any(line.kind == "physical" for line in order.lines),
                           events=events, people=people, buyer=buyer, status_form=form,
                           action_form=AdminActionForm(formdata=None), action_error=action_error,
                           gifted_by=people.get(order.gifted_by_id), refunds=refunds.refunds_of(order.id),
                           refund_form=_refund_form(order, refund_form), refundable=refundable,
                           refundable_text=major_text(refundable, order.currency),
                           can_refund=order.payment_status in REFUNDABLE and refundable > 0,
                           paid_by_provider=refunds.paid_payment(order), can_resend=orders.can_resend(order),
                           invoice=moloni.invoice_view(moloni.invoice_of(order.id))), status


@bp.get("/orders/<int:order_number>")
@role_required(Role.STAFF)
def order_detail(order_number: int):
    return _detail(_order(order_number))


@bp.get("/orders/<int:order_number>/items.txt")
@role_required(Role.STAFF)
def order_items(order_number: int):
    return items_download(_order(order_number), current_user._get_current_object())


def _act(order_number: int, action, done):
    """``done``: the flash, or a function of the order after the action that words it."""
    order = _order(order_number)
    form = AdminActionForm()
    if not form.validate_on_submit():
        abort(400)
    with form_errors(form):
        action(order)
        flash(done(order) if callable(done) else done, "success")
        return redirect(url_for("admin.order_detail", order_number=order_number), 303)
    return _detail(_order(order_number), action_error=" ".join(form.form_errors), status=422)


@bp.post("/orders/<int:order_number>/approve")
@role_required(Role.ADMIN)
def order_approve(order_number: int):
    actor = current_user._get_current_object()
    return _act(order_number, lambda o: orders.approve(o, actor=actor), _approved)


def _approved(order) -> str:
    if order.status == "COMPLETED":
        return f"Order #{order.order_number} approved: paid and delivered."
    return f"Order #{order.order_number} approved: paid; its digital items are delivered, the rest waits to be shipped."


@bp.post("/orders/<int:order_number>/resend")
@role_required(Role.STAFF)
def order_resend(order_number: int):
    actor = current_user._get_current_object()
    return _act(order_number, lambda o: orders.resend_confirmation(o, actor=actor),
                "The confirmation email is on its way again.")


@bp.post("/orders/<int:order_number>/status")
@role_required(Role.MANAGER)
def order_status(order_number: int):
    order = _order(order_number)
    form = OrderStatusForm()
    form.status.choices = _status_choices(order)
    if form.validate_on_submit():
        with form_errors(form):
            orders.change_status(order, form.status.data, actor=current_user._get_current_object(),
                                 note=form.note.data or "")
            flash(f"Order #{order_number} is now {form.status.data.lower()}.", "success")
            return redirect(url_for("admin.order_detail", order_number=order_number), 303)
    return _detail(_order(order_number), status_form=form, status=422)


@bp.post("/orders/<int:order_number>/fulfill")
@role_required(Role.STAFF)
def order_fulfill(order_number: int):
    """Ship the physical items: carrier and tracking (again: correct them). The buyer is emailed."""
    order = _order(order_number)
    form = FulfillForm()
    if form.validate_on_submit():
        with form_errors(form, codes={"order_not_paid": "carrier", "nothing_to_ship": "carrier"}):
            orders.fulfill(order, carrier=form.carrier.data, tracking_number=form.tracking_number.data,
                           tracking_url=form.tracking_url.data or None, actor=current_user._get_current_object())
            flash(f"Order #{order_number} is shipped: the buyer gets the tracking link by email.", "success")
            return redirect(url_for("admin.order_detail", order_number=order_number), 303)
    return _detail(_order(order_number), fulfill_form=form, status=422)


@bp.post("/orders/<int:order_number>/refund")
@role_required(Role.ADMIN)
def order_refund(order_number: int):
    """Refund all that is left (amount blank) or part of it, to the original payment or the
    buyer's balance (``services.refunds.refund``, the API's refund)."""
    order = _order(order_number)
    form = _refund_form(order, RefundForm())
    if form.validate_on_submit():
        with form_errors(form, codes={"refund_exceeds_paid": "amount"}):
            text = (form.amount.data or "").strip()
            amount = typed_money(text, order.currency, "amount") if text else None
            done = refunds.refund(g.store, order, amount=amount, destination=form.destination.data,
                                  reason=form.reason.data or "", actor=current_user._get_current_object())
            row, reward = done.refund, done.reward
            money = shown_money(row.amount, row.currency)
            if row.destination == "balance":
                message = f"Refunded {money} to the buyer's balance."
            else:
                message = (f"Refund of {money} sent to the payment provider; it shows as on its way until the "
                           "provider confirms it.")
            if reward is not None and reward.wanted < 0:
                message += (f" The review reward paid for this order loses the refunded share: "
                            f"{shown_money(reward.taken_back, row.currency)} taken back from the buyer's balance")
                message += (f" ({shown_money(reward.not_recovered, row.currency)} more was due; the balance held no more)."
                            if reward.not_recovered else ".")
            flash(message, "success")
            return redirect(url_for("admin.order_detail", order_number=order_number), 303)
    return _detail(_order(order_number), refund_form=form, status=422)


# --- gifts ----------------------------------------------------------------------------------

def _gift_page(form, status: int = 200, recipient: User | None = None):
    form.variant_id.choices = variant_service.gift_variant_choices()
    return render_template("admin/orders/gift.html", form=form, recipient=recipient,
                           suggestions=[]), status


@bp.get("/users/suggest")
@role_required(Role.ADMIN)
def user_suggest():
    """htmx suggestions for the gift form's recipient box: radio buttons named user_id."""
    q = (request.args.get("recipient") or request.args.get("q") or "").strip()
    return render_block("admin/orders/gift.html", "suggestions", users=user_service.find_users(q), q=q)


@bp.route("/orders/gift", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def order_gift():
    if request.method == "GET":
        form = GiftForm(formdata=None)
        recipient = user_service.users_by_id([request.args.get("user")]).get(request.args.get("user"))
        if recipient is not None:
            form.user_id.data, form.recipient.data = recipient.id, recipient.username
        return _gift_page(form, recipient=recipient)
    form = GiftForm()
    form.variant_id.choices = variant_service.gift_variant_choices()
    if not form.validate_on_submit():
        return _gift_page(form, 422)
    recipient = user_service.users_by_id([form.user_id.data]).get(form.user_id.data)
    if recipient is None:
        recipient = user_service.user_by_login(form.recipient.data or "")
    if recipient is None:
        form.recipient.errors = ["No user with that username or email: pick one from the suggestions"]
        return _gift_page(form, 422)
    variant = variant_service.variant_by_id(form.variant_id.data)
    if variant is None:
        form.variant_id.errors = ["Choose a subcategory"]
        return _gift_page(form, 422, recipient)
    with form_errors(form, codes={"out_of_stock": "quantity", "shipping_address_required": "recipient"}):
        order = orders.gift(recipient, variant, form.quantity.data, actor=current_user._get_current_object(),
                            note=form.note.data or "")
        flash(f"Gift sent: order #{order.order_number} for {recipient.username}.", "success")
        return redirect(url_for("admin.order_detail", order_number=order.order_number), 303)
    return _gift_page(form, 422, recipient)
