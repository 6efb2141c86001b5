"""Branding (Seed A): colours, font, tagline and images for the store's admins, in friendly names
(`/api/branding`) and in field names (`/api/tenants/current/branding`), the image uploads, and the
store itself (`/api/tenants/current`). The public side is `GET /api/storefront/branding` (public.py)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import branding, store_config, stores

from .access import access
from .schemas.branding import BrandingImageIn
from .schemas.store import BrandingAdminIn, BrandingAdminOut, BrandingFieldsIn, BrandingOut, CurrentTenantIn, TenantOut
from .uploads import multipart, read_upload

bp = APIBlueprint("api_branding", __name__, url_prefix="/api", tag="Branding")


@bp.get("/branding")
@access("admin")
@bp.output(BrandingAdminOut)
def get_branding():
    """The branding with frontend-friendly names: `logo`, `banner`, `hero`, `colors`, `font`, `tagline`."""
    return BrandingAdminOut.of(g.store)


@bp.put("/branding")
@access("admin")
@bp.input(BrandingAdminIn, arg_name="body")
@bp.output(BrandingAdminOut)
def put_branding(body: BrandingAdminIn):
    """Change any of the friendly fields (only those sent). Colours are `#rrggbb`; an image is an
    uploaded file's URL or `null` to remove it. A 422 names every wrong field and changes nothing."""
    name, changes = body.changes()
    if name is not None:
        store_config.update_store_config(g.store, {"name": name})
    if changes:
        branding.update_branding(g.store, changes)
    return BrandingAdminOut.of(g.store)


@bp.post("/branding/upload/<image_type>")
@access("admin")
@bp.input(BrandingImageIn, location="files", arg_name="form")
@bp.output(BrandingAdminOut, status_code=201)
@multipart
def upload_branding_image(image_type: str, form: BrandingImageIn):
    """Upload the `logo`, `banner` or `hero` image (multipart `file`; max 5 MB, 413 above).

    The file must really be a JPEG, PNG, WebP or GIF of at most 25 megapixels (422 `invalid_image`,
    `image_too_large`); it is re-encoded as WebP so nothing hidden in it survives, and replaces the
    previous one (whose file is deleted)."""
    branding.check_image_type(image_type)
    data = read_upload(form.file or form.image, branding.max_bytes())
    url = branding.prepare_image(g.store, image_type, data)  # before any write
    branding.set_image(g.store, image_type, url)
    return BrandingAdminOut.of(g.store)


@bp.put("/tenants/current/branding")
@access("admin")
@bp.input(BrandingFieldsIn, arg_name="body")
@bp.output(BrandingOut)
def put_tenant_branding(body: BrandingFieldsIn):
    """Change the branding in its own field names (`primary_color`, `logo_url`, ...); only the
    fields sent change."""
    branding.update_branding(g.store, body.changes())
    return BrandingOut.of(g.store)


@bp.get("/tenants/current")
@access("admin")
@bp.output(TenantOut)
def get_tenant():
    """The store: slug, name, domain, currency, status, dates, and its whole configuration."""
    return TenantOut.of(g.store)


@bp.put("/tenants/current")
@access("admin")
@bp.input(CurrentTenantIn, arg_name="body")
@bp.output(TenantOut)
def put_tenant(body: CurrentTenantIn):
    """Change the store's name, description, custom domain (409 `domain_taken`) or any setting.
    The slug, currency and status are the platform team's."""
    changes = body.changes()
    if "custom_domain" in changes:
        stores.set_custom_domain(g.store, changes.pop("custom_domain"))
    if changes:
        store_config.update_store_config(g.store, changes)
    return TenantOut.of(g.store)
