"""The buyer's review of a COMPLETED order, from its order page (the review card). The product
page's reviews (paged in place with htmx) are in ``catalog.product``."""
from __future__ import annotations

from flask import Response, redirect, render_template, url_for
from flask_login import current_user

from models import Role
from services import orders, reviews
from web import form_errors, private, role_required

from . import bp
from .forms import ReviewForm


def review_card(order, viewer, form: ReviewForm | None = None) -> dict:
    """What the order page's review card needs: the order's review, and a form when its buyer
    may still write one."""
    review = reviews.review_of_order(order) if order.status == "COMPLETED" else None
    can_review = (review is None and order.status == "COMPLETED" and viewer is not None
                  and order.buyer_id == viewer.id)
    refused = [] if can_review or form is None else [*form.form_errors, *(e for es in form.errors.values() for e in es)]
    return {"review": review, "review_form": (form or ReviewForm()) if can_review else None, "review_refused": refused}


@bp.post("/account/orders/<int:order_number>/review")
@role_required(Role.USER)
def post_review(order_number: int):
    from .orders import _own_order, order_context  # the order page owns how an order is loaded

    order = _own_order(order_number)
    viewer = current_user._get_current_object()
    form = ReviewForm()
    if form.validate_on_submit():
        with form_errors(form, codes={"invalid_rating": "rating", "review_too_long": "text_review"}):
            reviews.create_review(order, viewer, rating=int(form.rating.data), text=form.text_review.data or "",
                                  anonymous=form.anonymous.data)
            return redirect(url_for("storefront.order_page", order_number=order.order_number, _anchor="review"), 303)
    context = {**order_context(order, viewer), **review_card(order, viewer, form)}
    html = render_template("storefront/orders/order.html", **context, items_url=orders.items_path(order),
                           pay_url=f"/account/orders/{order.order_number}/pay")
    return private(Response(html, status=422, mimetype="text/html"))
