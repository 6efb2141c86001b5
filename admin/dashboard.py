from flask import g, render_template
from sqlalchemy import func, select

from extensions import db
from models import Role, User
from web import role_required

from . import bp


@bp.get("/")
@role_required(Role.STAFF)
def overview():
    counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return render_template("admin/overview.html", counts=counts, users_total=sum(counts.values()), store=g.store)
