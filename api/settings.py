"""The store's configuration for its admins: Seed B `GET /api/admin/config` and
`POST /api/admin/config/update`, Seed A `GET/PUT /api/tenant/settings`: one document
(services.store_config.config_of), one update (services.store_config.update_store_config)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import store_config

from .access import access
from .schemas.store import StoreConfigIn, StoreConfigOut

bp = APIBlueprint("api_settings", __name__, url_prefix="/api", tag="Settings")


def _update(body: StoreConfigIn) -> StoreConfigOut:
    store_config.update_store_config(g.store, body.changes())
    return StoreConfigOut.of(g.store)


@bp.get("/admin/config")
@access("admin")
@bp.output(StoreConfigOut)
def admin_config():
    """The full, private store configuration: name, description and every setting."""
    return StoreConfigOut.of(g.store)


@bp.post("/admin/config/update")
@access("admin")
@bp.input(StoreConfigIn, arg_name="body")
@bp.output(StoreConfigOut)
def admin_config_update(body: StoreConfigIn):
    """Change any part of the configuration (only the fields sent); answers the new configuration.
    A 422 names every wrong field and changes nothing; enabling a payment method that is not
    configured is a 422 `payment_method_not_configured`. The storefront shows the change on the
    next request."""
    return _update(body)


@bp.get("/tenant/settings")
@access("admin")
@bp.output(StoreConfigOut)
def tenant_settings():
    """Seed A: the store's settings, the same document as `GET /api/admin/config`."""
    return StoreConfigOut.of(g.store)


@bp.put("/tenant/settings")
@access("admin")
@bp.input(StoreConfigIn, arg_name="body")
@bp.output(StoreConfigOut)
def tenant_settings_update(body: StoreConfigIn):
    """Seed A: change the settings (all or part of the document `GET` answers), as
    `POST /api/admin/config/update` does."""
    return _update(body)
