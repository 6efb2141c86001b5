"""Moloni invoicing (the ``moloni`` addon), under /api/integrations/moloni: connect (OAuth2),
the connection's status, invoice a paid order, its PDF link. Every view but the public callback
passes ``web.requires_feature("moloni")``; the callback's service checks the gate for the store
its signed state names."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, jsonify, redirect

from services import moloni as moloni_service
from services import orders as order_service
from services import stores as store_service
from web import requires_feature

from .access import access, require_user
from .schemas.moloni import CallbackQuery, MoloniInvoiceOut, MoloniStatusOut, PdfLinkOut

bp = APIBlueprint("api_moloni", __name__, url_prefix="/api/integrations/moloni", tag="Integrations")

GATED = {403: "The store's plan has no Moloni invoicing (`feature_not_enabled`, `details.addon` = `moloni`)"}


@bp.get("/authorize")
@access("admin")
@requires_feature("moloni")
@bp.doc(responses={**GATED, 302: "To Moloni's authorisation page (`Location`; the body has `authorize_url`)",
                   409: "No Moloni app is set up (`moloni_not_configured`)"})
def moloni_authorize():
    """Start connecting this store to Moloni: redirects to Moloni's page, where the admin allows
    access; Moloni then calls the callback. The flow is bound to this store and this admin."""
    url = moloni_service.start_authorization(g.store, require_user())
    response = jsonify(authorize_url=url)
    response.status_code, response.headers["Location"] = 302, url
    return response


@bp.get("/callback")
@access("public")
@bp.input(CallbackQuery, location="query", arg_name="query")
@bp.doc(responses={302: "Back to the store's Integrations page, connected",
                   422: "A forged, expired or replayed `state` (`moloni_state_invalid`): nothing changes",
                   502: "Moloni refused the code (`moloni_error`)"})
def moloni_callback(query: CallbackQuery):
    """Moloni's redirect after the admin allowed access: checks the signed `state` (store, admin,
    one-time nonce) and exchanges the `code` for tokens (kept encrypted)."""
    store = moloni_service.complete_authorization(query.state, query.code, query.error)
    return redirect(f"{store_service.base_url(store)}/admin/integrations?connected=1", code=302)


@bp.get("/status")
@access("admin")
@requires_feature("moloni")
@bp.output(MoloniStatusOut)
@bp.doc(responses=GATED)
def moloni_status():
    """Whether the store is connected, the company, document set and tax chosen, and whether paid
    orders are invoiced automatically."""
    return MoloniStatusOut.model_validate(moloni_service.status(g.store))


@bp.post("/invoice/<order_id>")
@access("admin")
@requires_feature("moloni")
@bp.output(MoloniInvoiceOut, status_code=201)
@bp.doc(responses={**GATED, 200: "Already invoiced: that invoice", 404: "No such order (`order_not_found`)",
                   409: "Not paid (`order_not_paid`), not connected (`moloni_not_connected`), or Moloni refused "
                        "it (`invoice_failed`, the reason shows on the order)",
                   502: "Moloni could not be reached (`moloni_error`)"})
def moloni_invoice(order_id: str):
    """Invoice a paid order in Moloni now: its lines, taxes, the buyer's tax number when given, in
    the chosen document set. Once per order: asking again answers the same invoice."""
    order = order_service.get_order(order_id)
    row, created = moloni_service.request_invoice(g.store, order)
    body = MoloniInvoiceOut(order_id=order.id, **moloni_service.invoice_view(row))
    return body, 201 if created else 200


@bp.get("/invoice/<order_id>/pdf")
@access("admin")
@requires_feature("moloni")
@bp.output(PdfLinkOut)
@bp.doc(responses={**GATED, 404: "No such order, or no invoice yet (`invoice_not_found`)"})
def moloni_invoice_pdf(order_id: str):
    """The invoice's PDF link from Moloni (and the credit note's, once the order is refunded)."""
    order = order_service.get_order(order_id, with_lines=False)
    return PdfLinkOut(**moloni_service.pdf_link(g.store, order))
