"""Campaign and notification-preference schemas. An audience is ``audience`` (``all``,
``product``, ``resellers``, ``segment``) with ``product_id`` for ``product`` and ``segment`` for
``segment``."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, StrictBool

from models import Campaign
from services import campaigns as campaign_service

from .common import Id, Input, Output, PageQuery, Query

Audience = Literal["all", "product", "resellers", "segment"]
Segment = Literal["vip", "new", "active", "at_risk", "inactive"]
Topic = Literal["marketing", "product_news"]


def _audience_param(data: dict) -> dict:
    """``product_id`` / ``segment`` as the service's one ``audience_param``."""
    product_id, segment = data.pop("product_id", None), data.pop("segment", None)
    if "audience" in data or product_id is not None or segment is not None:
        data["audience_param"] = product_id if product_id is not None else segment
    return data


class CampaignIn(Input):
    subject: str = Field(min_length=1, max_length=campaign_service.SUBJECT_MAX)
    body_markdown: str = Field(min_length=1, max_length=campaign_service.BODY_MAX,
                               description="Markdown (CommonMark, tables, ~~strike~~); raw HTML is shown as text")
    topic: Topic = Field("marketing", description="Which preference recipients must keep on: "
                                                   "`marketing` (marketing_emails) or `product_news`")
    audience: Audience = "all"
    product_id: Id | None = Field(None, description="For `audience: product`: its buyers (paid orders)")
    segment: Segment | None = Field(None, description="For `audience: segment`")

    def to_service(self) -> dict:
        return _audience_param(self.model_dump())


class CampaignUpdateIn(Input):
    """Only the fields sent change; only a draft can change."""

    subject: str | None = Field(None, min_length=1, max_length=campaign_service.SUBJECT_MAX)
    body_markdown: str | None = Field(None, min_length=1, max_length=campaign_service.BODY_MAX)
    topic: Topic | None = None
    audience: Audience | None = None
    product_id: Id | None = None
    segment: Segment | None = None

    def to_service(self) -> dict:
        return _audience_param({k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None})


class CampaignQuery(PageQuery):
    status: Literal["DRAFT", "SENDING", "SENT", "CANCELLED"] | None = None


class ProgressOut(Output):
    status: str
    total: int = Field(description="Recipients snapshotted when sending started")
    sent: int
    skipped: int = Field(description="Opted out when sending started, or cancelled before their turn")
    failed: int
    pending: int
    percent: int = Field(description="Share of the recipients processed (sent, skipped or failed)")
    done: bool


class CampaignOut(Output):
    id: str
    subject: str
    body_markdown: str
    topic: str
    audience: str
    product_id: str | None
    segment: str | None
    audience_label: str
    status: str
    created_by_id: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancelled_at: datetime | None
    progress: ProgressOut

    @classmethod
    def of(cls, campaign: Campaign, titles: dict[str, str] | None = None) -> "CampaignOut":
        """``titles``: product titles by id for a page of campaigns (``campaigns.product_titles``)."""
        return cls(id=campaign.id, subject=campaign.subject, body_markdown=campaign.body_markdown, topic=campaign.topic,
                   audience=campaign.audience,
                   product_id=campaign.audience_param if campaign.audience == "product" else None,
                   segment=campaign.audience_param if campaign.audience == "segment" else None,
                   audience_label=campaign_service.audience_label(campaign, titles), status=campaign.status,
                   created_by_id=campaign.created_by_id, created_at=campaign.created_at, updated_at=campaign.updated_at,
                   started_at=campaign.started_at, finished_at=campaign.finished_at,
                   cancelled_at=campaign.cancelled_at, progress=ProgressOut(**campaign_service.progress(campaign)))


class PreviewIn(Input):
    subject: str = Field("", max_length=campaign_service.SUBJECT_MAX)
    body_markdown: str = Field(min_length=1, max_length=campaign_service.BODY_MAX)


class PreviewOut(Output):
    subject: str
    html: str = Field(description="The body as sent: the Markdown rendered and sanitized (nh3)")
    text: str = Field(description="The plain-text part")


class AudienceQuery(Query):
    audience: Audience = "all"
    product_id: Id | None = None
    segment: Segment | None = None
    topic: Topic = "marketing"


class AudienceOut(Output):
    audience: str
    total: int = Field(description="Active customers in the audience")
    reachable: int = Field(description="Those who would get it (the topic's preference on)")
    opted_out: int


class PreferencesIn(Input):
    marketing_emails: StrictBool | None = Field(None, description="Campaigns about offers and the shop")
    product_news: StrictBool | None = Field(None, description="Campaigns about products")


class PreferencesOut(Output):
    marketing_emails: bool
    product_news: bool
    updated_at: datetime | None = Field(description="When last changed; null: never (the defaults)")
    transactional: str = Field("always sent", description="Order, payment, refund, replacement and password "
                                                          "emails are not optional")
