"""The store's settings (Admin+): name and description, external links, reviews, order expiry
and the announcement bar with a live preview (htmx re-renders the storefront's own
``components/_announcement.html``). One save through ``store_config.update_store_config``: all of it
or nothing; payment methods are switched on /admin/payments (only configured ones can be)."""
from __future__ import annotations

from babel import Locale
from flask import flash, g, redirect, render_template, request, url_for
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from models import Role
from services import payments, store_config
from services.errors import Invalid
from services.money import display_money
from services.stores import ANNOUNCEMENT_PRESETS, AnnouncementBar, settings_of
from services.text import CONTROL_MESSAGE, has_control_chars
from web import PageForm, error_status, form_errors, role_required, shown_money

from . import bp

BLANK_LINK_ROWS = 2
# the locales offered (any Babel locale works through the API); each with how it shows 1,234.56 EUR
LOCALES = [(code, f"{Locale.parse(code).get_display_name('en')}: {display_money(123456, 'EUR', code)}") for code in (
    "en", "en_US", "en_GB", "en_IE", "pt_PT", "pt_BR", "es_ES", "fr_FR", "de_DE", "it_IT", "nl_NL", "pl_PL", "sv_SE",
    "da_DK", "fi_FI", "cs_CZ", "ro_RO", "tr_TR", "ja_JP", "zh_CN")]


def _plain_text(form, field):
    if isinstance(field.data, str) and has_control_chars(field.data):
        raise ValidationError(f"This field {CONTROL_MESSAGE}")


class LinkForm(Form):
    name = StringField("Name", validators=[Optional(), Length(max=40), _plain_text])
    href = StringField("Address", validators=[Optional(), Length(max=500), _plain_text])
    emoji_icon = StringField("Emoji", validators=[Optional(), Length(max=8), _plain_text])
    in_nav_bar = BooleanField("Nav bar")
    in_footer = BooleanField("Footer")
    remove = BooleanField("Remove")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if (self.name.data or "").strip() and not (self.href.data or "").strip() and not self.remove.data:
            self.href.errors = [*self.href.errors, "A link needs an address"]
            valid = False
        return valid


class SettingsForm(PageForm):
    name = StringField("Store name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=store_config.DESCRIPTION_MAX)])
    # checked by the service (StoreSettings), so the page says what the API says
    support_email = StringField("Support email", validators=[Optional(), Length(max=254), _plain_text],
                                description="Where shoppers can write to the store; empty for none")
    links = FieldList(FormField(LinkForm), min_entries=0, max_entries=20 + BLANK_LINK_ROWS)
    review_reward = IntegerField("Review reward (% of the order, credited to the balance)",
                                 validators=[InputRequired(), NumberRange(min=0, max=10)])
    enforced_ratings = BooleanField("Enforced ratings (a completed order must be rated)")
    feedback_window_days = IntegerField("Feedback window (days)", validators=[InputRequired(), NumberRange(min=1, max=90)])
    reviews_require_approval = BooleanField("Reviews wait for approval before they show")
    show_sold_count = BooleanField("Show how many units of a product were sold on its page")
    locale = SelectField("Language and number format", choices=[SelectChoice(code, label) for code, label in LOCALES])
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)],
                           description="An IANA name such as Europe/Lisbon: the dashboard's days and months are local ones")
    order_expiry_minutes = IntegerField("Unpaid orders expire after (minutes)",
                                        validators=[InputRequired(), NumberRange(min=5, max=7 * 24 * 60)])
    ann_enabled = BooleanField("Show the announcement bar")
    ann_template = SelectField("Style", coerce=int,
                               choices=[SelectChoice(n, label) for n, (_, _, label) in ANNOUNCEMENT_PRESETS.items()])
    ann_text = StringField("Text", validators=[Optional(), Length(max=300)])
    ann_mode = SelectField("Motion", choices=[SelectChoice("static", "Static"), SelectChoice("scrolling", "Scrolling")])
    ann_direction = SelectField("Direction", choices=[SelectChoice("left", "Right to left"), SelectChoice("right", "Left to right")])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.ann_enabled.data and not (self.ann_text.data or "").strip():  # (Optional() stops a validate_ method)
            self.ann_text.errors = [*self.ann_text.errors, "An announcement bar that shows needs a text"]
            valid = False
        return valid

    def announcement(self) -> dict:
        return {"enabled": bool(self.ann_enabled.data), "template": self.ann_template.data or 0,
                "text": (self.ann_text.data or "").strip(), "scrolling": self.ann_mode.data == "scrolling",
                "scroll_direction": self.ann_direction.data}

    def links_data(self) -> list[dict]:
        return [{"name": row.form.name.data.strip(), "href": row.form.href.data.strip(),
                 "emoji_icon": (row.form.emoji_icon.data or "").strip(),
                 "in_nav_bar": bool(row.form.in_nav_bar.data), "in_footer": bool(row.form.in_footer.data)}
                for row in self.links if (row.form.name.data or "").strip() and not row.form.remove.data]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = settings_of(g.store).locale  # one set through the API stays choosable
        if current not in dict(LOCALES):
            self.locale.choices = [*self.locale.choices, SelectChoice(current, current)]

    def changes(self) -> dict:
        return {"name": self.name.data, "description": self.description.data or "",
                "support_email": (self.support_email.data or "").strip() or None,
                "external_links": self.links_data(), "review_reward": self.review_reward.data,
                "enforced_ratings": bool(self.enforced_ratings.data),
                "feedback_window_days": self.feedback_window_days.data,
                "reviews_require_approval": bool(self.reviews_require_approval.data),
                "order_expiry_minutes": self.order_expiry_minutes.data,
                "show_sold_count": bool(self.show_sold_count.data),
                "locale": self.locale.data, "timezone": (self.timezone.data or "").strip(),
                "announcement_bar_config": self.announcement()}


def _form_data(store) -> dict:
    s = settings_of(store)
    bar = s.announcement_bar_config
    return {"name": store.name, "description": store.description or "", "support_email": s.support_email or "",
            "links": [link.model_dump() for link in s.external_links] + [{"in_nav_bar": True, "in_footer": True}] * BLANK_LINK_ROWS,
            "review_reward": s.review_reward, "enforced_ratings": s.enforced_ratings,
            "feedback_window_days": s.feedback_window_days, "reviews_require_approval": s.reviews_require_approval,
            "order_expiry_minutes": s.order_expiry_minutes, "show_sold_count": s.show_sold_count,
            "locale": s.locale, "timezone": s.timezone,
            "ann_enabled": bar.enabled, "ann_template": bar.template,
            "ann_text": bar.text, "ann_mode": "scrolling" if bar.scrolling else "static",
            "ann_direction": bar.scroll_direction}


# the service's detail paths -> the form's fields
_FIELDS = {"name": "name", "description": "description", "support_email": "support_email",
           "review_reward": "review_reward",
           "feedback_window_days": "feedback_window_days", "order_expiry_minutes": "order_expiry_minutes",
           "announcement_bar_config.text": "ann_text", "announcement_bar_config.template": "ann_template",
           "announcement_bar_config.scroll_direction": "ann_direction", "locale": "locale", "timezone": "timezone"}


def _show_details(form: SettingsForm, error: Invalid) -> None:
    """Put each detail of the service's refusal next to its field (links by their row); when
    that places them all, the sentence ``apply_form_errors`` put on top goes (said once)."""
    message, details = error.said(shown_money)  # as apply_form_errors put it: the page's money
    rows = [row for row in form.links if (row.form.name.data or "").strip() and not row.form.remove.data]
    placed = 0
    for path, messages in details.items():
        parts = path.split(".")
        target = None
        if parts[0] == "external_links" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(rows):
            row = rows[int(parts[1])].form
            target = getattr(row, parts[2], row.name) if len(parts) > 2 else row.name
        elif path in _FIELDS:
            target = getattr(form, _FIELDS[path])
        if target is not None:
            placed += 1
            sentences = [m[:1].upper() + m[1:] for m in messages]
            target.errors = [*target.errors, *(s for s in sentences if s not in target.errors)]
    if placed and placed == len(details) and message in form.form_errors \
            and not any(message in getattr(form, name).errors for name in _FIELDS.values()):
        form.form_errors.remove(message)


def _page(form: SettingsForm, status: int = 200):
    return render_template("admin/settings/index.html", form=form, methods=payments.method_states(g.store),
                           preview=_preview_settings(form.announcement())), status


def _preview_settings(bar: dict):
    try:
        parsed = AnnouncementBar.model_validate(bar)
    except ValueError:
        parsed = AnnouncementBar()
    return settings_of(g.store).model_copy(update={"announcement_bar_config": parsed})


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def settings_page():
    if request.method == "GET":
        return _page(SettingsForm(formdata=None, data=_form_data(g.store)))
    form = SettingsForm()
    if form.validate_on_submit():
        with form_errors(form):
            store_config.update_store_config(g.store, form.changes())
            flash("Settings saved. The shop shows them now.", "success")
            return redirect(url_for("admin.settings_page"), 303)
        if isinstance(getattr(form, "domain_error", None), Invalid):
            _show_details(form, form.domain_error)
    return _page(form, error_status(form))


@bp.get("/settings/announcement-preview")
@role_required(Role.ADMIN)
def settings_announcement_preview():
    """The bar as the storefront would show it, from the (unsaved) fields of the form."""
    args = request.args
    bar = {"enabled": bool(args.get("ann_enabled")), "template": args.get("ann_template", "0"),
           "text": (args.get("ann_text") or "").strip()[:300], "scrolling": args.get("ann_mode") == "scrolling",
           "scroll_direction": args.get("ann_direction") if args.get("ann_direction") in ("left", "right") else "left"}
    if not str(bar["template"]).isdigit() or int(bar["template"]) not in ANNOUNCEMENT_PRESETS:
        bar["template"] = 0
    return render_template("admin/settings/_preview.html", preview=_preview_settings(bar))
