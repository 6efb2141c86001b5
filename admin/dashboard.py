from flask import Response, g, render_template, request

from models import Role
from services import analytics, replacements
from services import users as user_service
from services.errors import DomainError
from web import role_required, wants_fragment

from . import bp

PERIODS = (("7d", "7 days"), ("30d", "30 days"), ("12m", "12 months"))


def _sales(period: str) -> dict:
    """The overview's sales section: KPIs, the chart's points and the breakdowns of one period."""
    try:
        p = analytics.period(g.store, period)
    except DomainError:
        p = analytics.period(g.store, "30d")
    chart = analytics.chart(g.store, p)
    return {"period": p.name, "periods": PERIODS, "kpis": analytics.kpis(g.store, p), "chart": chart,
            "breakdown": analytics.breakdown(g.store, p),
            "chart_data": {"labels": [pt["label"] for pt in chart["points"]],
                           "revenue": [pt["revenue"] / 100 for pt in chart["points"]],
                           "orders": [pt["orders"] for pt in chart["points"]], "currency": chart["currency"]}}


@bp.get("/")
@role_required(Role.STAFF)
def overview():
    sales = _sales(request.args.get("period", "30d"))
    if wants_fragment():
        response = Response(render_template("admin/_sales.html", **sales, store=g.store))
        response.headers["Vary"] = "HX-Request"
        return response
    counts = user_service.role_counts()
    return render_template("admin/overview.html", counts=counts, users_total=sum(counts.values()), store=g.store,
                           pending_replacements=replacements.pending_count(), **sales)
