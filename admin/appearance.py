"""Appearance (Admin+): pick a theme, set the brand colours, font, name and tagline with a live
preview, and upload the logo, banner and hero images. Each save goes through the same service
functions as the API (``store_config.apply_theme``, ``branding.update_branding``,
``branding.prepare_image``/``set_image``)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from models import Role
from services import branding, plans, store_config, themes
from services.stores import Branding, settings_of
from web import PageForm, error_status, form_errors, role_required

from . import bp

HEX = Regexp(r"^#[0-9a-fA-F]{6}$", message="A colour such as #4f46e5")
FONTS = (
    ("system-ui", "System (the device's own)"),
    ("\"Helvetica Neue\", Arial, system-ui", "Helvetica / Arial"),
    ("\"Trebuchet MS\", \"Segoe UI\", system-ui", "Trebuchet"),
    ("Georgia, \"Times New Roman\", serif", "Georgia (serif)"),
    ("\"Courier New\", ui-monospace, monospace", "Typewriter (monospace)"),
)


class ThemeForm(PageForm):
    slug = HiddenField(validators=[DataRequired()])
    keep_colors = BooleanField("Keep my colours and font")


class BrandingForm(PageForm):
    name = StringField("Store name", validators=[DataRequired(), Length(max=120)])
    tagline = StringField("Tagline", validators=[Length(max=160)], description="Shown under the name in the header")
    primary_color = StringField("Brand colour", validators=[DataRequired(), HEX])
    accent_color = StringField("Accent colour", validators=[DataRequired(), HEX])
    background_color = StringField("Background", validators=[DataRequired(), HEX])
    text_color = StringField("Text colour", validators=[DataRequired(), HEX])
    font_family = SelectField("Font", choices=[SelectChoice(v, label) for v, label in FONTS])

    def branding(self) -> dict:
        return {"tagline": (self.tagline.data or "").strip(), "primary_color": self.primary_color.data.lower(),
                "accent_color": self.accent_color.data.lower(), "background_color": self.background_color.data.lower(),
                "text_color": self.text_color.data.lower(), "font_family": self.font_family.data}


class ImageUploadForm(PageForm):
    file = FileField("Image", validators=[FileRequired("Choose an image"),
                                          FileAllowed(["jpg", "jpeg", "png", "webp", "gif"], "JPEG, PNG, WebP or GIF only")])


def _branding_form(formdata=None) -> BrandingForm:
    b = settings_of(g.store).branding
    form = BrandingForm(formdata=formdata, data={"name": g.store.name, **b.model_dump()})
    if b.font_family not in dict(FONTS):  # a stack set through the API: keep it choosable
        form.font_family.choices = [*form.font_family.choices, SelectChoice(b.font_family, b.font_family)]
    return form


def _page(*, branding_form=None, theme_form=None, image_forms=None, status: int = 200):
    settings = settings_of(g.store)
    image_forms = image_forms or {}
    return render_template(
        "admin/appearance/index.html", themes=themes.list_themes(), current=themes.theme_or_default(settings.theme),
        theme_form=theme_form or ThemeForm(formdata=None), form=branding_form or _branding_form(),
        image_types=branding.IMAGE_TYPES, images={t: getattr(settings.branding, f"{t}_url") for t in branding.IMAGE_TYPES},
        image_forms={t: image_forms.get(t) or ImageUploadForm(formdata=None, prefix=t) for t in branding.IMAGE_TYPES},
        preview=_preview(settings.branding.model_dump(), settings.theme, g.store.name),
        max_mb=branding.max_bytes() // (1024 * 1024),
        custom_look=plans.has_feature(g.store, "custom_theme")), status


def _preview(values: dict, slug: str, name: str) -> dict:
    """What the live preview draws: valid colours win, a wrong one falls back to the saved one."""
    saved = settings_of(g.store).branding
    out = {}
    for key in ("primary_color", "accent_color", "background_color", "text_color", "font_family", "tagline"):
        value = values.get(key)
        try:
            Branding.model_validate({key: value})
            out[key] = value
        except ValueError:
            out[key] = getattr(saved, key)
    return {"branding": out, "theme": themes.theme_or_default(slug), "name": name or g.store.name,
            "contrast_ok": themes.contrast_ratio(out["text_color"], out["background_color"]) >= 4.5}


@bp.get("/appearance")
@role_required(Role.ADMIN)
def appearance():
    return _page()


@bp.post("/appearance/theme")
@role_required(Role.ADMIN)
def appearance_theme():
    form = ThemeForm()
    if form.validate_on_submit():
        with form_errors(form):
            settings = store_config.apply_theme(g.store, form.slug.data, keep_colors=bool(form.keep_colors.data))
            flash(f"The {themes.get_theme(settings.theme).name} theme is on. The shop shows it now.", "success")
            return redirect(url_for("admin.appearance"), 303)
    return _page(theme_form=form, status=error_status(form))


@bp.post("/appearance/branding")
@role_required(Role.ADMIN)
def appearance_branding():
    form = _branding_form(request.form)
    if form.validate_on_submit():
        with form_errors(form):
            store_config.update_store_config(g.store, {"name": form.name.data.strip()})
            branding.update_branding(g.store, form.branding())
            flash("Branding saved. The shop shows it now.", "success")
            return redirect(url_for("admin.appearance"), 303)
    return _page(branding_form=form, status=error_status(form))


@bp.get("/appearance/preview")
@role_required(Role.ADMIN)
def appearance_preview():
    """The live preview from the (unsaved) branding fields."""
    args = request.args
    values = {k: (args.get(k) or "").strip()[:160] for k in
              ("primary_color", "accent_color", "background_color", "text_color", "font_family", "tagline")}
    return render_template("admin/appearance/_preview.html",
                           preview=_preview(values, settings_of(g.store).theme, (args.get("name") or "").strip()[:120]))


@bp.post("/appearance/images/<image_type>")
@role_required(Role.ADMIN)
def appearance_image(image_type: str):
    branding.check_image_type(image_type)
    form = ImageUploadForm(prefix=image_type)
    if form.validate_on_submit():
        with form_errors(form, field="file"):
            url = branding.prepare_image(g.store, image_type, form.file.data.read(branding.max_bytes() + 1))
            branding.set_image(g.store, image_type, url)
            flash(f"The {image_type} is updated.", "success")
            return redirect(url_for("admin.appearance") + "#images", 303)
    return _page(image_forms={image_type: form}, status=error_status(form))


@bp.post("/appearance/images/<image_type>/remove")
@role_required(Role.ADMIN)
def appearance_image_remove(image_type: str):
    form = PageForm()
    if form.validate_on_submit():
        branding.set_image(g.store, image_type, None)
        flash(f"The {image_type} is removed.", "success")
    return redirect(url_for("admin.appearance") + "#images", 303)
