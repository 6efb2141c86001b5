"""Address book schemas (Seed A "Addresses"). ``country`` is ISO 3166-1 alpha-2; what a country
requires and its postal-code pattern are checked by ``services.addresses.validate_address``."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from .common import Input, Output, page_of


class PostalAddressIn(Input):
    """An address typed at checkout (the same fields as the address book, no default flags)."""

    name: str | None = Field(default=None, max_length=120, description="The recipient")
    company: str | None = Field(default=None, max_length=120)
    line1: str | None = Field(default=None, max_length=200, validation_alias=AliasChoices("line1", "address_line1",
                                                                                          "street"))
    line2: str | None = Field(default=None, max_length=200, validation_alias=AliasChoices("line2", "address_line2"))
    city: str | None = Field(default=None, max_length=120)
    region: str | None = Field(default=None, max_length=120, description="State, province or county",
                               validation_alias=AliasChoices("region", "state", "province"))
    postal_code: str | None = Field(default=None, max_length=20, validation_alias=AliasChoices("postal_code", "zip",
                                                                                               "postcode"))
    country: str | None = Field(default=None, max_length=2, description="ISO 3166-1 alpha-2, e.g. PT",
                                validation_alias=AliasChoices("country", "country_code"))
    phone: str | None = Field(default=None, max_length=32)


class AddressIn(PostalAddressIn):
    is_default_shipping: bool | None = None
    is_default_billing: bool | None = None


class AddressOut(Output):
    id: str
    name: str
    company: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str
    is_default_shipping: bool
    is_default_billing: bool
    created_at: datetime
    updated_at: datetime


class AddressListOut(page_of(AddressOut)):
    """A page of the address book (RECONCILE.md's list envelope)."""
