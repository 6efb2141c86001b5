"""Users in the dashboard (Admin+): the table (search, role and segment filters, each user's
segment, sales and balance), creating a user, and a user's page with their figures, saved
addresses (default shipping and billing marked), orders, current cart and balance ledger, and the actions: adjust the balance, promote to reseller, change
the role, edit, disable or enable, delete (erase). The same service calls as ``api/users.py`` and
``api/customers.py``; a refusal shows next to its field with 422 and saves nothing."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from models import Role, User
from services import addresses as address_service
from services import balance, orders, segments
from services import users as user_service
from services.errors import Invalid
from services.pagination import paginate
from web import form_errors, form_status, page_arg, role_required, shown_money, typed_money, wants_fragment

from . import bp
from .forms import (
    AdminActionForm,
    BalanceAdjustForm,
    DeleteUserForm,
    ResellerForm,
    RoleForm,
    UserCreateForm,
    UserEditForm,
)

ROLE_FILTERS = [r.value for r in Role if r != Role.GUEST]
CODES = {"username_taken": "username", "email_taken": "email", "role_not_allowed": "role", "invalid_role": "role",
         "invalid_discount": "discount"}


def _actor() -> User:
    return current_user._get_current_object()


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    q = (request.args.get("q") or "").strip()[:100]
    role = (request.args.get("role") or "").upper()
    segment = request.args.get("segment") or ""
    role = role if role in ROLE_FILTERS else ""
    segment = segment if segment in segments.SEGMENTS else ""
    results = user_service.directory(q=q, role=role or None, segment=segment or None, page=page_arg())
    context = {"results": results, "q": q, "role": role, "segment": segment, "roles": ROLE_FILTERS,
               "segments": segments.SEGMENTS}
    if wants_fragment():
        return render_template("admin/users/_table.html", **context)
    return render_template("admin/users/index.html", **context)


def _role_choices(form, actor: User) -> None:
    form.role.choices = [(r.value, r.value.title()) for r in user_service.assignable_roles(actor)]


def _discount(form) -> int:
    text = (form.discount.data or "").strip()
    return user_service.discount_bps(text) if text else 0


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def user_new():
    form = UserCreateForm()
    _role_choices(form, _actor())
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            user = user_service.create_user(_actor(), username=form.username.data, email=form.email.data,
                                            password=form.password.data or None, role=form.role.data,
                                            discount=_discount(form))
            flash(f"User {user.username} created." + ("" if form.password.data else
                                                      " They were emailed a link to set their password."), "success")
            return redirect(url_for("admin.user_detail", user_id=user.id), 303)
    return render_template("admin/users/new.html", form=form), form_status(form)


def _user(user_id: str) -> User:
    return user_service.get_user(user_id)


def _forms(user: User, **given) -> dict:
    """Every action form of a user's page: the one that was posted (with its errors) and fresh ones."""
    actor = _actor()
    forms = {"form": BalanceAdjustForm(formdata=None), "reseller_form": ResellerForm(formdata=None),
             "role_form": RoleForm(formdata=None), "edit_form": UserEditForm(formdata=None, obj=user),
             "delete_form": DeleteUserForm(formdata=None), "action_form": AdminActionForm(formdata=None)}
    if not given.get("reseller_form"):
        forms["reseller_form"].discount.data = f"{user.discount_bps / 100:g}" if user.discount_bps else ""
    forms.update({k: v for k, v in given.items() if v is not None})
    _role_choices(forms["role_form"], actor)
    if not given.get("role_form"):
        forms["role_form"].role.data = user.role
    return forms


def _user_page(user: User, status: int = 200, **given):
    history = orders.list_orders(buyer_id=user.id, page=page_arg(), page_size=10)
    ledger = paginate(balance.history(user.id), page=page_arg("lpage"), page_size=10)
    actor = _actor()
    can_manage = user_service.can_manage(actor, user) and user.erased_at is None
    # a refused action on an account whose forms are not shown: say why on the page
    refusals = [] if can_manage else list(dict.fromkeys(
        message for form in given.values() if form is not None
        for message in [*form.form_errors, *(m for ms in form.errors.values() for m in ms)]))
    return render_template(
        "admin/users/detail.html", user=user, history=history, lines=orders.lines_of([o.id for o in history["items"]]),
        priced=user_service.current_cart(user), ledger=ledger, figures=user_service.profile(user),
        addresses=address_service.list_addresses(user),  # one query, as the API's customer detail
        can_manage=can_manage, refusals=refusals, **_forms(user, **given)), status


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
            amount = typed_money(form.amount.data, g.store.currency, "amount")
            balance.adjust(user, amount, form.reason.data, actor=_actor())
            sign = "+" if amount > 0 else ""
            flash(f"Balance adjusted by {sign}{shown_money(amount, g.store.currency)}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _user_page(_user(user_id), 422, form=form)


@bp.post("/users/<user_id>/reseller")
@role_required(Role.ADMIN)
def user_reseller(user_id: str):
    user = _user(user_id)
    form = ResellerForm()
    if form.validate_on_submit():
        with form_errors(form, field="discount", codes=CODES):
            user_service.set_reseller(user, user_service.discount_bps(form.discount.data), actor=_actor())
            flash(f"{user.username} is now a reseller with {user.discount_bps / 100:g} % off.", "success")
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _user_page(_user(user_id), 422, reseller_form=form)


@bp.post("/users/<user_id>/role")
@role_required(Role.ADMIN)
def user_role(user_id: str):
    user = _user(user_id)
    form = RoleForm()
    _role_choices(form, _actor())
    if form.validate_on_submit():
        with form_errors(form, field="role", codes=CODES):
            text = (form.discount.data or "").strip()
            discount = user_service.discount_bps(text) if text else None
            user_service.change_role(user, form.role.data, actor=_actor(), discount=discount)
            flash(f"{user.username} is now {user.role.lower()}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _user_page(_user(user_id), 422, role_form=form)


@bp.post("/users/<user_id>/edit")
@role_required(Role.ADMIN)
def user_edit(user_id: str):
    user = _user(user_id)
    form = UserEditForm()
    if form.validate_on_submit():
        with form_errors(form, field="username", codes=CODES):
            user_service.update_user(user, actor=_actor(), username=form.username.data, email=form.email.data,
                                     note=form.note.data or "")
            flash("Profile saved.", "success")
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _user_page(_user(user_id), 422, edit_form=form)


@bp.post("/users/<user_id>/active")
@role_required(Role.ADMIN)
def user_active(user_id: str):
    user = _user(user_id)
    form = AdminActionForm()
    if form.validate_on_submit():
        active = request.form.get("active") == "1"
        with form_errors(form):
            user_service.set_active(user, active, actor=_actor())
            flash(f"{user.username} is {'enabled' if active else 'disabled'}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user_id), 303)
    return _user_page(_user(user_id), 422, action_form=form)


@bp.post("/users/<user_id>/delete")
@role_required(Role.ADMIN)
def user_delete(user_id: str):
    user = _user(user_id)
    form = DeleteUserForm()
    if form.validate_on_submit():
        with form_errors(form, field="confirm"):
            if form.confirm.data.strip() != user.username:
                raise Invalid(f"Type {user.username} exactly to delete this account", details={"confirm": ["mismatch"]})
            name = user.username
            user_service.erase_user(user, actor=_actor())
            flash(f"{name} was deleted: personal data erased, orders kept.", "success")
            return redirect(url_for("admin.users"), 303)
    return _user_page(_user(user_id), 422, delete_form=form)
