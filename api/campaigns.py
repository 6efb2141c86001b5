"""Email campaigns for admins (Admin: a campaign writes to every customer of the store), under
/api/admin/campaigns: list, create, read (with progress), change a draft, preview, count an
audience, send a test to yourself, send, cancel. Sending goes through the ``emails`` queue in
batches, each recipient once (``services/campaigns.py``)."""
from __future__ import annotations

from apiflask import APIBlueprint

from services import campaigns as campaign_service
from services.errors import Conflict
from web import requires_feature

from .access import access, require_user
from .schemas.campaigns import (
    AudienceOut,
    AudienceQuery,
    CampaignIn,
    CampaignOut,
    CampaignQuery,
    CampaignUpdateIn,
    PreviewIn,
    PreviewOut,
)
from .schemas.common import Message, page_of

bp = APIBlueprint("api_campaigns", __name__, url_prefix="/api/admin/campaigns", tag="Campaigns")

NOT_FOUND = {404: "No such campaign (`campaign_not_found`)"}


def _preview(rendered) -> PreviewOut:
    return PreviewOut(subject=rendered.subject, html=rendered.html, text=rendered.text)


@bp.get("")
@access("admin")
@requires_feature("campaigns")
@bp.input(CampaignQuery, location="query", arg_name="query")
@bp.output(page_of(CampaignOut))
def list_campaigns(query: CampaignQuery):
    """The store's campaigns, newest first (`status` filters: DRAFT, SENDING, SENT, CANCELLED)."""
    page = campaign_service.list_campaigns(status=query.status, page=query.page, page_size=query.page_size)
    titles = campaign_service.product_titles(page["items"])
    return {**page, "items": [CampaignOut.of(c, titles) for c in page["items"]]}


@bp.post("")
@access("admin")
@requires_feature("campaigns")
@bp.input(CampaignIn, arg_name="body")
@bp.output(CampaignOut, status_code=201)
@bp.doc(responses={422: "Invalid fields, an unknown product (`unknown_product`) or segment (`invalid_segment`)"})
def create_campaign(body: CampaignIn):
    """Create a draft: `subject`, `body_markdown`, `topic` (`marketing` or `product_news`), and the
    audience: `audience` `all` (every customer), `product` (buyers of `product_id`), `resellers`,
    or `segment` (`segment`: vip, new, active, at_risk, inactive)."""
    return CampaignOut.of(campaign_service.create_campaign(body.to_service(), created_by=require_user()))


@bp.get("/audience")
@access("admin")
@requires_feature("campaigns")
@bp.input(AudienceQuery, location="query", arg_name="query")
@bp.output(AudienceOut)
@bp.doc(responses={422: "An unknown product or a missing segment"})
def audience(query: AudienceQuery):
    """How many active customers an audience holds now, and how many would get a campaign of
    `topic` (the others turned it off in their preferences)."""
    param = query.product_id if query.audience == "product" else query.segment if query.audience == "segment" else None
    return AudienceOut(audience=query.audience, **campaign_service.audience_count(query.audience, param, query.topic))


@bp.post("/preview")
@access("admin")
@requires_feature("campaigns")
@bp.input(PreviewIn, arg_name="body")
@bp.output(PreviewOut)
def preview_draft(body: PreviewIn):
    """Render a subject and Markdown body as it would be sent (nothing is saved)."""
    return _preview(campaign_service.render(body.subject, body.body_markdown))


@bp.get("/<campaign_id>")
@access("admin")
@requires_feature("campaigns")
@bp.output(CampaignOut)
@bp.doc(responses=NOT_FOUND)
def get_campaign(campaign_id: str):
    """One campaign, with its `progress` (poll it while it is SENDING)."""
    return CampaignOut.of(campaign_service.get_campaign(campaign_id))


@bp.put("/<campaign_id>")
@access("admin")
@requires_feature("campaigns")
@bp.input(CampaignUpdateIn, arg_name="body")
@bp.output(CampaignOut)
@bp.doc(responses={**NOT_FOUND, 409: "Not a draft any more (`campaign_not_draft`)", 422: "Invalid fields"})
def update_campaign(campaign_id: str, body: CampaignUpdateIn):
    """Change a draft: only the fields sent change."""
    campaign = campaign_service.get_campaign(campaign_id)
    return CampaignOut.of(campaign_service.update_campaign(campaign, body.to_service()))


@bp.get("/<campaign_id>/preview")
@access("admin")
@requires_feature("campaigns")
@bp.output(PreviewOut)
@bp.doc(responses=NOT_FOUND)
def preview(campaign_id: str):
    """The campaign's body as it is sent: `html` (the Markdown rendered and sanitized) and `text`."""
    return _preview(campaign_service.render_campaign(campaign_service.get_campaign(campaign_id)))


@bp.post("/<campaign_id>/test")
@access("admin")
@requires_feature("campaigns")
@bp.output(Message, status_code=202)
@bp.doc(responses=NOT_FOUND)
def send_test(campaign_id: str):
    """Send the campaign as saved to yourself, marked as a test (queued on `emails`)."""
    user = require_user()
    campaign_service.send_test(campaign_service.get_campaign(campaign_id), user)
    return Message(message=f"A test is on its way to {user.email}")


@bp.post("/<campaign_id>/send")
@access("admin")
@requires_feature("campaigns")
@bp.output(CampaignOut, status_code=202)
@bp.doc(responses={**NOT_FOUND, 409: "Already sending, sent or cancelled (`campaign_not_draft`)"})
def send(campaign_id: str):
    """Send a draft: the audience is fixed now (opted-out customers are skipped) and the emails go
    out in batches through the `emails` queue, each recipient once. Poll the campaign for `progress`."""
    campaign = campaign_service.get_campaign(campaign_id)
    if not campaign_service.start_send(campaign):
        raise Conflict("This campaign is not a draft: it was sent, is sending or was cancelled",
                       code="campaign_not_draft")
    return CampaignOut.of(campaign)


@bp.post("/<campaign_id>/cancel")
@access("admin")
@requires_feature("campaigns")
@bp.output(CampaignOut)
@bp.doc(responses={**NOT_FOUND, 409: "Already sent or cancelled (`campaign_finished`)"})
def cancel(campaign_id: str):
    """Cancel a draft, or stop a campaign while it sends (who has not got it yet is skipped)."""
    campaign = campaign_service.get_campaign(campaign_id)
    if not campaign_service.cancel(campaign):
        raise Conflict("This campaign was already sent or cancelled", code="campaign_finished")
    return CampaignOut.of(campaign)
