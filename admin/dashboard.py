from flask import g, render_template

from models import Role
from services import replacements
from services import users as user_service
from web import role_required

from . import bp


@bp.get("/")
@role_required(Role.STAFF)
def overview():
    counts = user_service.role_counts()
    return render_template("admin/overview.html", counts=counts, users_total=sum(counts.values()), store=g.store,
                           pending_replacements=replacements.pending_count())
