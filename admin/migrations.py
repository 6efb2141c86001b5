"""Moving a store in from WooCommerce, for sysadmins (/sysadmin/migrations): the form (store, site,
key and secret, dry run), the imports of every store, and one import's progress bar (HTMX polling)
with its counts and problems, and "Resume" for one that was interrupted. The same service calls as
``api/migration.py``."""
from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from services import migration as migration_service
from web import PageForm, form_errors, form_status, wants_fragment

from .sysadmin import sysadmin_bp


class WooImportForm(PageForm):
    store = StringField("Store (slug or id)", validators=[DataRequired(), Length(max=80)])
    url = StringField("WooCommerce site address", validators=[DataRequired(), Length(max=500)])
    consumer_key = StringField("Consumer key", validators=[DataRequired(), Length(max=200)])
    consumer_secret = PasswordField("Consumer secret", validators=[DataRequired(), Length(max=200)])
    dry_run = BooleanField("Dry run: only report what would change")


@sysadmin_bp.get("/migrations")
def migrations(form=None, status: int = 200):
    jobs = [migration_service.job_view(j) for j in migration_service.list_jobs(source="woocommerce", any_store=True)]
    return render_template("sysadmin/migrations.html", form=form or WooImportForm(formdata=None), jobs=jobs), status


@sysadmin_bp.post("/migrations")
def migration_start():
    form = WooImportForm()
    if form.validate_on_submit():
        with form_errors(form):
            job = migration_service.start_woocommerce_import(
                store=form.store.data, url=form.url.data, consumer_key=form.consumer_key.data,
                consumer_secret=form.consumer_secret.data, dry_run=form.dry_run.data, actor_id=current_user.id)
            return redirect(url_for("sysadmin.migration_page", job_id=job["id"]))
    form.consumer_secret.data = ""  # never sent back to the browser
    return migrations(form, form_status(form))


@sysadmin_bp.get("/migrations/<job_id>")
def migration_page(job_id: str):
    view = migration_service.job_view(migration_service.get_job(job_id, any_store=True))
    return render_template("sysadmin/migration.html", view=view, progress_endpoint="sysadmin.migration_progress")


@sysadmin_bp.get("/migrations/<job_id>/progress")
def migration_progress(job_id: str):
    view = migration_service.job_view(migration_service.get_job(job_id, any_store=True))
    if wants_fragment():
        return render_template("admin/imports/_progress.html", view=view, progress_endpoint="sysadmin.migration_progress")
    return redirect(url_for("sysadmin.migration_page", job_id=job_id))


@sysadmin_bp.post("/migrations/<job_id>/resume")
def migration_resume(job_id: str):
    migration_service.resume(job_id)
    return redirect(url_for("sysadmin.migration_page", job_id=job_id))
