"""Importing products from a CSV file (admins): upload, the column-mapping preview with the first rows
and every problem, then the import as a job with a progress bar, and its summary as a CSV."""
from __future__ import annotations

from flask import Response, current_app, redirect, render_template, url_for
from flask_login import current_user

from models import Role
from services import csv_import
from services import migration as migration_service
from web import form_errors, form_status, role_required, wants_fragment

from . import bp
from .forms import CsvImportForm


@bp.get("/import")
@role_required(Role.ADMIN)
def imports(form=None, status: int = 200):
    jobs = [migration_service.job_view(j) for j in csv_import.list_csv_jobs()]
    return render_template("admin/imports/index.html", form=form or CsvImportForm(formdata=None), jobs=jobs), status


@bp.post("/import")
@role_required(Role.ADMIN)
def import_upload():
    form = CsvImportForm()
    if form.validate_on_submit():
        limit = current_app.config.get("IMPORT_MAX_CSV_BYTES", 20 * 1024 * 1024)
        data = form.file.data.read(limit + 1)
        with form_errors(form):
            job = csv_import.stage(data, form.file.data.filename, actor_id=current_user.id)
            return redirect(url_for("admin.import_page", job_id=job.id))
    return imports(form, form_status(form))


@bp.get("/import/<job_id>")
@role_required(Role.ADMIN)
def import_page(job_id: str):
    job = csv_import.get_csv_job(job_id)
    preview = (job.report or {}).get("preview") or {}
    return render_template("admin/imports/show.html", job=job, view=migration_service.job_view(job), preview=preview,
                           fields=csv_import.GENERIC_FIELDS if job.csv_format == "generic" else list(csv_import.WOO_FIELDS))


@bp.post("/import/<job_id>/start")
@role_required(Role.ADMIN)
def import_start(job_id: str):
    csv_import.start(csv_import.get_csv_job(job_id))
    return redirect(url_for("admin.import_page", job_id=job_id))


@bp.get("/import/<job_id>/progress")
@role_required(Role.ADMIN)
def import_progress(job_id: str):
    """The progress fragment: it polls itself every second while the import runs."""
    job = csv_import.get_csv_job(job_id)
    if wants_fragment():
        return render_template("admin/imports/_progress.html", job=job, view=migration_service.job_view(job))
    return redirect(url_for("admin.import_page", job_id=job_id))


@bp.get("/import/<job_id>/summary.csv")
@role_required(Role.ADMIN)
def import_summary(job_id: str):
    job = csv_import.get_csv_job(job_id)
    return Response(csv_import.summary_csv(job), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{job.id[:8]}-summary.csv"'})
