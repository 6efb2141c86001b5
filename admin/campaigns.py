"""Email campaigns in the dashboard (Admin, as ``api/campaigns.py``: a campaign writes to every
customer): the list, compose and edit a draft with a live preview and the audience's size, a test
to yourself, the send confirmation, progress while it sends (an htmx fragment that polls until
done), the result. The same service calls as the API."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from models import Role
from services import campaigns as campaign_service
from services.errors import DomainError
from web import PageForm, form_errors, form_status, page_arg, requires_feature, role_required, wants_fragment

from . import bp

# The one form of this page lives here rather than in admin/forms.py, next to its only user.
TOPIC_CHOICES = [SelectChoice(key, label) for key, label in campaign_service.TOPIC_LABELS.items()]


class CampaignForm(PageForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=campaign_service.SUBJECT_MAX)])
    audience = SelectField("Audience", choices=[], validate_choice=False)
    topic = SelectField("Kind of email", choices=TOPIC_CHOICES)
    body_markdown = TextAreaField("Text (Markdown)", validators=[DataRequired(),
                                                                 Length(max=campaign_service.BODY_MAX)])


def audience_choices() -> list[SelectChoice]:
    """One select (option groups) for every audience: ``all``, ``resellers``, ``segment:<name>``,
    ``product:<id>``."""
    choices = [SelectChoice("all", "All customers", optgroup="Everyone"),
               SelectChoice("resellers", "Resellers", optgroup="Everyone")]
    choices += [SelectChoice(f"segment:{key}", f"Segment: {label}", optgroup="Customer segment")
                for key, label in campaign_service.SEGMENT_LABELS.items()]
    choices += [SelectChoice(f"product:{pid}", f"Buyers of {title}", optgroup="Buyers of a product")
                for pid, title in campaign_service.product_options()]
    return choices


def _split(value: str | None) -> tuple[str, str | None]:
    kind, _, param = (value or "all").partition(":")
    return kind, param or None


def _joined(campaign) -> str:
    return campaign.audience + (f":{campaign.audience_param}" if campaign.audience_param else "")


def _data(form: CampaignForm) -> dict:
    audience, param = _split(form.audience.data)
    return {"subject": form.subject.data, "body_markdown": form.body_markdown.data, "topic": form.topic.data,
            "audience": audience, "audience_param": param}


def _form(campaign=None) -> CampaignForm:
    form = CampaignForm(obj=campaign) if campaign is not None else CampaignForm()
    form.audience.choices = audience_choices()
    if campaign is not None and not form.is_submitted():
        form.audience.data = _joined(campaign)
    return form


def _preview_context(form: CampaignForm) -> dict:
    """What the preview panel shows for the form as typed: the audience's size and the body."""
    audience, param = _split(form.audience.data)
    try:
        count = campaign_service.audience_count(audience, param, form.topic.data or "marketing")
    except DomainError as error:
        count = {"error": error.message}
    rendered = campaign_service.render(form.subject.data or "", form.body_markdown.data or "")
    return {"count": count, "rendered": rendered}


@bp.get("/campaigns")
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaigns():
    results = campaign_service.list_campaigns(page=page_arg())
    return render_template("admin/campaigns/index.html", results=results, progress=campaign_service.progress,
                           label=campaign_service.audience_label,
                           titles=campaign_service.product_titles(results["items"]))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_new():
    form = _form()
    if form.validate_on_submit():
        with form_errors(form, codes={"unknown_product": "audience", "invalid_segment": "audience",
                                      "invalid_audience": "audience"}):
            campaign = campaign_service.create_campaign(_data(form), created_by=current_user._get_current_object())
            flash("Draft saved. Send yourself a test, then send it.", "success")
            return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))
    return render_template("admin/campaigns/form.html", form=form, campaign=None,
                           **_preview_context(form)), form_status(form)


@bp.post("/campaigns/preview")
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_preview():
    """The live preview panel (htmx, as the compose form changes): nothing is saved."""
    form = _form()
    form.validate()  # (only to run the CSRF check; a half-written draft still previews)
    if form.csrf_token.errors:
        return render_template("admin/campaigns/_preview.html", count={"error": "Reload the page."},
                               rendered=campaign_service.render("", "")), 400
    return render_template("admin/campaigns/_preview.html", **_preview_context(form))


@bp.route("/campaigns/<campaign_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_page(campaign_id: str):
    """A draft: its edit form with the preview and its actions. Otherwise: progress and result."""
    campaign = campaign_service.get_campaign(campaign_id)
    if campaign.status != "DRAFT":
        return render_template("admin/campaigns/show.html", campaign=campaign,
                               progress=campaign_service.progress(campaign),
                               label=campaign_service.audience_label(campaign),
                               rendered=campaign_service.render_campaign(campaign),
                               failures=campaign_service.recipients(campaign, status="FAILED", page=1, page_size=20))
    form = _form(campaign)
    if form.validate_on_submit():
        with form_errors(form, codes={"unknown_product": "audience", "invalid_segment": "audience",
                                      "invalid_audience": "audience", "campaign_not_draft": "subject"}):
            campaign_service.update_campaign(campaign, _data(form))
            flash("Draft saved.", "success")
            return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))
    return render_template("admin/campaigns/form.html", form=form, campaign=campaign,
                           **_preview_context(form)), form_status(form)


@bp.get("/campaigns/<campaign_id>/progress")
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_progress(campaign_id: str):
    """The progress fragment: it polls itself every second while the campaign sends, and the
    answer once it is done carries no trigger, so the polling stops."""
    campaign = campaign_service.get_campaign(campaign_id)
    context = {"campaign": campaign, "progress": campaign_service.progress(campaign)}
    if wants_fragment():
        return render_template("admin/campaigns/_progress.html", **context)
    return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))


@bp.post("/campaigns/<campaign_id>/test")
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_test(campaign_id: str):
    campaign = campaign_service.get_campaign(campaign_id)
    campaign_service.send_test(campaign, current_user._get_current_object())
    flash(f"A test is on its way to {current_user.email}.", "success")
    return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))


@bp.route("/campaigns/<campaign_id>/send", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_send(campaign_id: str):
    """GET: the confirmation (who gets it, how many); POST: send."""
    campaign = campaign_service.get_campaign(campaign_id)
    form = PageForm()
    if campaign.status != "DRAFT":
        flash("This campaign is not a draft any more.", "info")
        return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))
    if form.validate_on_submit():
        campaign_service.start_send(campaign)  # a second click finds it SENDING: nothing more happens
        flash("Sending started.", "success")
        return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))
    count = campaign_service.audience_count(campaign.audience, campaign.audience_param, campaign.topic)
    return render_template("admin/campaigns/send.html", campaign=campaign, form=form, count=count,
                           label=campaign_service.audience_label(campaign))


@bp.post("/campaigns/<campaign_id>/cancel")
@role_required(Role.ADMIN)
@requires_feature("campaigns")
def campaign_cancel(campaign_id: str):
    campaign = campaign_service.get_campaign(campaign_id)
    if campaign_service.cancel(campaign):
        flash("Campaign cancelled." if campaign.recipients_total == 0 else
              "Campaign stopped: who has not got it yet will not.", "success")
    else:
        flash("This campaign was already sent or cancelled.", "info")
    return redirect(url_for("admin.campaign_page", campaign_id=campaign.id))
