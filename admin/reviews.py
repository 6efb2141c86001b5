"""Reviews in the dashboard (Staff+): the paginated list with filters (status, product, rating),
approve and delete in place; admins also edit a review in place (htmx swaps the row)."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from models import Role
from services import reviews as review_service
from services import users as user_service
from web import form_errors, form_status, page_arg, role_required, wants_fragment

from . import bp
from .forms import ReviewEditForm


def _filters(args=None) -> dict:
    args = request.args if args is None else args
    status = args.get("status") or None
    rating = args.get("rating") or None
    return {"status": status if status in review_service.STATUSES else None,
            "product_id": (args.get("product_id") or None),
            "rating": int(rating) if rating in ("1", "2", "3", "4", "5") else None}


def _row(review, *, form=None, editing=False, status=200):
    buyers = user_service.usernames({review.user_id}) if review.user_id else {}
    html = render_template("admin/reviews/_row.html", r=review, buyers=buyers, form=form, editing=editing)
    return html, status


@bp.get("/reviews")
@role_required(Role.STAFF)
def reviews():
    filters = _filters()
    results = review_service.admin_list(**filters, page=page_arg(), page_size=20)
    context = {"results": results, "filters": filters,
               "buyers": user_service.usernames({r.user_id for r in results["items"] if r.user_id}),
               "products": review_service.reviewed_products()}
    if wants_fragment():
        return render_template("admin/reviews/_table.html", **context)
    return render_template("admin/reviews/index.html", **context)


def _back():
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url) else
                    url_for("admin.reviews"), 303)


@bp.post("/reviews/<review_id>/approve")
@role_required(Role.STAFF)
def review_approve(review_id: str):
    review = review_service.approve(review_service.get_review(review_id), actor=current_user._get_current_object())
    if wants_fragment():
        return _row(review)
    flash("Review approved.", "success")
    return _back()


@bp.post("/reviews/<review_id>/delete")
@role_required(Role.STAFF)
def review_delete(review_id: str):
    review_service.delete(review_service.get_review(review_id), actor=current_user._get_current_object())
    if wants_fragment():
        return _table_after_delete()
    flash("Review deleted.", "success")
    return _back()


def _table_after_delete():
    """The table the admin is looking at (htmx sends the page's address: its filters and page),
    read again without the deleted review: the count, the rows and the pager stay true."""
    shown = urlsplit(request.headers.get("HX-Current-URL") or "")
    args = dict(parse_qsl(shown.query)) if shown.path == url_for("admin.reviews") else {}
    filters = _filters(args)
    try:
        page = max(1, min(int(args.get("page") or 1), 100_000))
    except ValueError:
        page = 1
    results = review_service.admin_list(**filters, page=page, page_size=20)
    if not results["items"] and 0 < results["pages"] < page:  # the last row of the last page went
        results = review_service.admin_list(**filters, page=results["pages"], page_size=20)
    values = {k: v for k, v in filters.items() if v is not None}
    return render_template("admin/reviews/_table.html", results=results, filters=filters, pager_values=values,
                           buyers=user_service.usernames({r.user_id for r in results["items"] if r.user_id}))


@bp.get("/reviews/<review_id>/row")
@role_required(Role.STAFF)
def review_row(review_id: str):
    return _row(review_service.get_review(review_id))


@bp.route("/reviews/<review_id>/edit", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def review_edit(review_id: str):
    review = review_service.get_review(review_id)
    form = ReviewEditForm(formdata=request.form if request.method == "POST" else None,
                          data={"rating": str(review.rating), "text_review": review.text_review})
    if request.method == "POST" and form.validate_on_submit():
        with form_errors(form, codes={"invalid_rating": "rating", "review_too_long": "text_review"}):
            review = review_service.edit(review, actor=current_user._get_current_object(),
                                         rating=int(form.rating.data), text=form.text_review.data or "")
            if wants_fragment():
                return _row(review)
            flash("Review saved.", "success")
            return _back()
        review = review_service.get_review(review_id)
    status = form_status(form) if request.method == "POST" else 200
    if not wants_fragment():  # without JavaScript: the row alone on its own page
        buyers = user_service.usernames({review.user_id}) if review.user_id else {}
        return render_template("admin/reviews/edit.html", r=review, buyers=buyers, form=form, editing=True), status
    return _row(review, form=form, editing=True, status=status)
