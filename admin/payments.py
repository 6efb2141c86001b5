"""Payments in the dashboard (Admin+): which methods the store takes, its Stripe Connect account
(status, balance, payouts, transactions, a manual payout), its Hoodpay keys, the top-up limits,
and the callback inspector (every webhook event received, what it did, "process again").

The pages call the same service functions as ``api/payments.py``."""
from __future__ import annotations

import json
import uuid

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from models import PAYMENT_METHODS, PROVIDERS, Role
from models.payment import WEBHOOK_STATUSES
from services import orders, payment_accounts, payments, webhooks
from services.errors import DomainError, Invalid, NotFound
from services.stores import settings_of, update_settings
from web import (
    db_savepoint,
    form_errors,
    form_status,
    major_text,
    page_arg,
    reread,
    role_required,
    shown_money,
    typed_money,
    wants_fragment,
)

from . import bp
from .forms import AdminActionForm, HoodpayForm, ManualInstructionsForm, PaymentMethodForm, PayoutForm, TopupLimitsForm

EVENTS_PAGE_SIZE = 25


def positive_minor(text: str | None, currency: str, field: str) -> int:
    """An amount typed in major units ("49.99") as minor units; zero or less is refused."""
    amount = typed_money(text, currency, field)  # its sentence says it for people, not "topup_min must be…"
    if amount <= 0:
        raise Invalid("Enter an amount above zero", details={field: ["must be above zero"]})
    return amount


# --- the payments page ------------------------------------------------------------------------

def _stripe_card() -> dict:
    """What the Stripe card shows: the Connect state, and the account's money when there is an
    account to read (a provider that cannot be reached is a note, never an error page)."""
    if not current_app.config.get("STRIPE_SECRET_KEY"):
        return {"platform_ready": False}
    status = payment_accounts.connect_status(g.store, refresh=False)
    card = {"platform_ready": True, "status": status, "money": None, "money_error": None}
    if status["connected"] or status["uses_platform_account"]:
        try:
            with db_savepoint():
                # one call that fails stops the others: an unreachable Stripe costs one timeout
                balance = payment_accounts.connect_balance(g.store)
                card["money"] = {"balance": balance, "payouts": payment_accounts.connect_payouts(g.store, limit=10),
                                 "transactions": payment_accounts.connect_transactions(g.store, limit=10)}
        except DomainError as error:
            card["money_error"] = error.message
    return card


def _page(*, methods_form=None, stripe_form=None, payout_form=None, hoodpay_form=None, topup_form=None,
          manual_form=None, status: int = 200):
    settings = settings_of(g.store)
    if manual_form is None:
        manual_form = ManualInstructionsForm(formdata=None)
        manual_form.manual_payment_instructions.data = settings.manual_payment_instructions
    if topup_form is None:
        topup_form = TopupLimitsForm(formdata=None)
        topup_form.topup_min.data = major_text(settings.topup_min, g.store.currency)
        topup_form.topup_max.data = major_text(settings.topup_max, g.store.currency)
    if payout_form is None:
        payout_form = PayoutForm(formdata=None, request_key=uuid.uuid4().hex)
    return render_template(
        "admin/payments/index.html", methods=payments.method_states(g.store),
        methods_form=methods_form or PaymentMethodForm(formdata=None),
        stripe=_stripe_card(), stripe_form=stripe_form or AdminActionForm(formdata=None), payout_form=payout_form,
        hoodpay={**payment_accounts.hoodpay_settings(g.store), "webhook_url": payments.hoodpay_webhook_url(g.store)},
        hoodpay_form=hoodpay_form or HoodpayForm(formdata=None), topup_form=topup_form, manual_form=manual_form,
        topup_limits=(settings.topup_min, settings.topup_max)), status


@bp.get("/payments")
@role_required(Role.ADMIN)
def payments_page():
    return _page()


@bp.post("/payments/methods")
@role_required(Role.ADMIN)
def payments_methods():
    """Enable or disable one method. htmx swaps the methods card; a refused enable shows the
    service's reason next to that method (422)."""
    form = PaymentMethodForm()
    if not form.validate_on_submit() or form.method.data not in PAYMENT_METHODS:
        abort(400)  # the buttons send fixed values: anything else is not from the page
    wanted = form.enable.data == "1"
    with form_errors(form, codes={"payment_method_not_configured": "method"}):
        payments.set_methods(g.store, {form.method.data: wanted})
        notice = f"{payments.LABELS[form.method.data]} is {'enabled' if wanted else 'disabled'}."
        if wants_fragment():
            reread()
            return render_template("admin/payments/_methods.html", methods=payments.method_states(g.store),
                                   methods_form=PaymentMethodForm(formdata=None), notice=notice)
        flash(notice, "success")
        return redirect(url_for("admin.payments_page"), 303)
    if wants_fragment():
        return render_template("admin/payments/_methods.html", methods=payments.method_states(g.store),
                               methods_form=form), 422
    return _page(methods_form=form, status=422)


def _action_form() -> AdminActionForm:
    form = AdminActionForm()
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.post("/payments/stripe/connect")
@role_required(Role.ADMIN)
def payments_connect():
    """Start (or continue) Stripe onboarding: off to Stripe's page, which sends the admin back here."""
    form = _action_form()
    back = url_for("admin.payments_page", _external=True)
    with form_errors(form):
        url = payment_accounts.connect_onboard(g.store, admin=current_user._get_current_object(),
                                               return_url=back, refresh_url=back)
        return redirect(url, 303)
    return _page(stripe_form=form, status=form_status(form))


@bp.post("/payments/stripe/refresh")
@role_required(Role.ADMIN)
def payments_refresh():
    form = _action_form()
    with form_errors(form):
        status = payment_accounts.connect_status(g.store, refresh=True)
        flash("Stripe account status refreshed: card payments "
              + ("work." if status["ready"] else f"do not work yet ({status['reason']})."),
              "success" if status["ready"] else "info")
        return redirect(url_for("admin.payments_page"), 303)
    return _page(stripe_form=form, status=form_status(form))


@bp.post("/payments/stripe/payout")
@role_required(Role.ADMIN)
def payments_payout():
    form = PayoutForm()
    if form.validate_on_submit():
        currency = g.store.currency
        with form_errors(form):
            amount = positive_minor(form.amount.data, currency, "amount")
            payout = payment_accounts.connect_payout(g.store, amount, currency, request_key=form.request_key.data)
            flash(f"Payout of {shown_money(payout['amount'], payout['currency'] or currency)} requested: "
                  f"{payout.get('status') or 'pending'}.", "success")
            return redirect(url_for("admin.payments_page") + "#stripe-h", 303)
    # a new key for the next try: Stripe keeps a refused request's answer under its key
    form.request_key.data = uuid.uuid4().hex
    return _page(payout_form=form, status=422)


@bp.post("/payments/hoodpay")
@role_required(Role.ADMIN)
def payments_hoodpay():
    form = HoodpayForm()
    if form.validate_on_submit():
        with form_errors(form):
            payment_accounts.save_hoodpay(g.store, api_key=form.api_key.data, business_id=form.business_id.data,
                                          webhook_secret=form.webhook_secret.data)
            flash("Hoodpay keys saved and checked with Hoodpay.", "success")
            return redirect(url_for("admin.payments_page") + "#hoodpay-h", 303)
    return _page(hoodpay_form=form, status=422)


@bp.post("/payments/hoodpay/remove")
@role_required(Role.ADMIN)
def payments_hoodpay_remove():
    form = _action_form()
    with form_errors(form):
        # crypto can no longer take payments: stop offering it first
        if "HOODPAY" in payments.enabled_methods(g.store):
            payments.set_methods(g.store, {"HOODPAY": False})
        payment_accounts.remove_hoodpay(g.store)
        flash("Hoodpay keys removed; crypto payments are off.", "success")
        return redirect(url_for("admin.payments_page") + "#hoodpay-h", 303)
    return _page(status=form_status(form))


@bp.post("/payments/topups")
@role_required(Role.ADMIN)
def payments_topups():
    form = TopupLimitsForm()
    if form.validate_on_submit():
        currency = g.store.currency
        with form_errors(form):
            low = positive_minor(form.topup_min.data, currency, "topup_min")
            high = positive_minor(form.topup_max.data, currency, "topup_max")
            update_settings(g.store, {"topup_min": low, "topup_max": high})
            flash(f"Top-ups now take {shown_money(low, currency)} to {shown_money(high, currency)}.", "success")
            return redirect(url_for("admin.payments_page") + "#topups-h", 303)
    return _page(topup_form=form, status=422)


@bp.post("/payments/manual")
@role_required(Role.ADMIN)
def payments_manual():
    """What a shopper paying by MANUAL is told (the same setting as the API's
    ``manual_payment_instructions``)."""
    form = ManualInstructionsForm()
    if form.validate_on_submit():
        with form_errors(form):
            saved = update_settings(g.store, {"manual_payment_instructions": form.manual_payment_instructions.data})
            flash("Manual payment instructions saved." if saved.manual_payment_instructions
                  else "Manual payment instructions removed: shoppers are told to pay the store directly.", "success")
            return redirect(url_for("admin.payments_page") + "#manual-h", 303)
    return _page(manual_form=form, status=422)


# --- the callback inspector --------------------------------------------------------------------

@bp.get("/payments/events")
@role_required(Role.ADMIN)
def webhook_events():
    params = {
        "provider": request.args.get("provider", "") if request.args.get("provider") in PROVIDERS else "",
        "status": request.args.get("status", "") if request.args.get("status") in WEBHOOK_STATUSES else "",
        "q": (request.args.get("q") or "").strip()[:120],
    }
    results = webhooks.list_events(provider=params["provider"] or None, status=params["status"] or None,
                                   search=params["q"] or None, page=page_arg(), page_size=EVENTS_PAGE_SIZE)
    numbers = orders.numbers_of([row.order_id for row in results["items"] if row.order_id])
    context = {"results": results, "params": params, "numbers": numbers, "providers": PROVIDERS,
               "statuses": WEBHOOK_STATUSES}
    if wants_fragment():
        return render_template("admin/payments/_events_table.html", **context)
    return render_template("admin/payments/events.html", **context)


def _event(event_id: str):
    try:
        return webhooks.get_event(event_id)
    except NotFound:
        abort(404)


def pretty_payload(raw: str) -> str:
    """The raw body, indented when it is JSON (the template escapes it: it is untrusted)."""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError):
        return raw


def _event_context(row) -> dict:
    return {"event": row, "payload": pretty_payload(row.payload), "action_form": AdminActionForm(formdata=None),
            "order_number": orders.numbers_of([row.order_id]).get(row.order_id) if row.order_id else None}


@bp.get("/payments/events/<event_id>")
@role_required(Role.ADMIN)
def webhook_event(event_id: str):
    return render_template("admin/payments/event.html", **_event_context(_event(event_id)))


@bp.post("/payments/events/<event_id>/process")
@role_required(Role.ADMIN)
def webhook_event_process(event_id: str):
    """Process the event again (queued; applying an event twice changes nothing)."""
    _event(event_id)
    _action_form()
    row = webhooks.reprocess(event_id)
    if wants_fragment():
        return render_template("admin/payments/_event_state.html", **_event_context(row), notice="Queued again.")
    flash("Queued again.", "success")
    return redirect(url_for("admin.webhook_event", event_id=event_id), 303)
