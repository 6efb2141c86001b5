"""The signed-in customer's address book (Seed A "Addresses"): owner only (another user's address
is a 404 ``address_not_found``), one default shipping and one default billing address, each address
checked for its country (``services.addresses.validate_address``, also the checkout's check)."""
from __future__ import annotations

from apiflask import APIBlueprint

from services import addresses as address_service
from services.pagination import paginate_list

from .access import access, require_user
from .schemas.addresses import AddressIn, AddressListOut, AddressOut
from .schemas.common import Message, PageQuery

bp = APIBlueprint("api_addresses", __name__, url_prefix="/api/addresses", tag="Addresses")

INVALID = {422: "A field missing or invalid for the country: `invalid_address`, with `details` per field "
                "(`name`, `line1`, `city`, `region`, `postal_code`, `country`); `too_many_addresses`"}


def _out(address) -> AddressOut:
    return AddressOut.model_validate(address)


@bp.get("")
@access("user")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(AddressListOut)
def list_addresses(query: PageQuery):
    """Your addresses (at most 50), a page of them: the default shipping and billing ones first,
    then the newest."""
    items = [_out(a) for a in address_service.list_addresses(require_user())]
    return paginate_list(items, page=query.page, page_size=query.page_size)


@bp.post("")
@access("user")
@bp.input(AddressIn, arg_name="body")
@bp.output(AddressOut, status_code=201)
@bp.doc(responses=INVALID)
def create_address(body: AddressIn):
    """Save an address. `country` (ISO 3166-1 alpha-2) decides what is required (a US state, a
    Spanish province...) and the postal-code pattern. `is_default_shipping` / `is_default_billing`
    make it the default (the previous default stops being it); your first address is both."""
    return _out(address_service.create_address(require_user(), body.model_dump(exclude_unset=True)))


@bp.put("/<address_id>")
@access("user")
@bp.input(AddressIn, arg_name="body")
@bp.output(AddressOut)
@bp.doc(responses={404: "Not your address (`address_not_found`)", **INVALID})
def update_address(address_id: str, body: AddressIn):
    """Change an address: the fields sent replace the saved ones, and the whole address is checked again."""
    return _out(address_service.update_address(require_user(), address_id, body.model_dump(exclude_unset=True)))


@bp.delete("/<address_id>")
@access("user")
@bp.output(Message)
@bp.doc(responses={404: "Not your address (`address_not_found`)"})
def delete_address(address_id: str):
    """Delete an address (a deleted default leaves none: choose another)."""
    address_service.delete_address(require_user(), address_id)
    return Message(message="Address deleted")
