"""Users in the dashboard (Admin+): the searchable list and a user's page with their orders,
current cart, balance ledger and the balance adjustment form."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from models import Role, User
from services import balance, orders
from services import cart as cart_service
from services import users as user_service
from services.money import to_minor
from services.pagination import paginate
from web import form_errors, page_arg, role_required, shown_money, wants_fragment

from . import bp
from .forms import BalanceAdjustForm


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    q = (request.args.get("q") or "").strip()[:100]
    results = user_service.admin_users(q=q, page=page_arg())
    context = {"results": results, "q": q}
    if wants_fragment():
        return render_template("admin/users/_table.html", **context)
    return render_template("admin/users/index.html", **context)


def _user(user_id: str) -> User:
    return user_service.get_user(user_id)


def _user_page(user: User, form=None, status: int = 200):
    history = orders.list_orders(buyer_id=user.id, page=page_arg(), page_size=10)
    cart = cart_service.get_cart(user=user, create=False)
    priced = cart_service.price(cart, buyer=user, customer_key=user.id) if cart is not None else None
    ledger = paginate(balance.history(user.id), page=page_arg("lpage"), page_size=10)
    return render_template(
        "admin/users/detail.html", user=user, history=history, lines=orders.lines_of([o.id for o in history["items"]]),
        priced=priced, ledger=ledger, spent=user_service.total_spent(user.id),
        form=form or BalanceAdjustForm(formdata=None)), status


@bp.get("/users/<user_id>")
@role_required(Role.ADMIN)
def user_detail(user_id: str):
    return _user_page(_user(user_id))


@bp.post("/users/<user_id>/balance")
@role_required(Role.ADMIN)
def user_balance(user_id: str):
    user = _user(user_id)
    form = BalanceAdjustForm()
    if form.validate_on_submit():
        with form_errors(form, codes={"insufficient_balance": "amount"}):
            amount = to_minor((form.amount.data or "").strip().replace(" ", ""), g.store.currency, field="amount")
            balance.adjust(user, amount, form.reason.data, actor=current_user._get_current_object())
            sign = "+" if amount > 0 else ""
            flash(f"Balance adjusted by {sign}{shown_money(amount, g.store.currency)}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _user_page(_user(user_id), form, 422)
