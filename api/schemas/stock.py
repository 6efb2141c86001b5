"""Digital stock schemas (admin only): imports, item listings, counts. Deliverables are plaintext here."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from models import StockItem
from services import stock as stock_service

from .common import Amount, Id, Input, Output, PageQuery


class StockImportIn(Input):
    """Deliverables as a JSON list (``stock``), pasted text (``text``), or a multipart ``file`` field
    (a UTF-8 text file, at most MAX_IMPORT_BYTES) sent with these fields as form fields.

    ``delimiter``: none = one per line; ``,``, ``;`` or a tab split CSV rows; any other string splits
    each line on it. ``unit_cost`` is in major units. A deliverable with a control character is
    refused by the import, which names its place in the list.
    """

    raw_fields = ("stock", "deliverables", "items", "text")

    subcategory_id: Id = Field(validation_alias=AliasChoices("subcategory_id", "subcategoryId", "subcategory",
                                                             "variant_id"))
    stock: list[Annotated[str, Field(max_length=2000)]] | None = Field(
        default=None, max_length=100_000, validation_alias=AliasChoices("stock", "deliverables", "items"))
    text: str | None = Field(default=None, max_length=32 * 1024 * 1024)
    delimiter: str | None = Field(default=None, max_length=10)
    note: str | None = Field(default=None, max_length=255)
    supplier: str | None = Field(default=None, max_length=120)
    unit_cost: Amount | None = None


class StockImportOut(Output):
    subcategory_id: str
    batch_id: str
    added: int
    duplicate_in_file: int
    already_known: int
    removed: int
    total_lines: int
    stock_count: int


class StockQuery(PageQuery):
    status: Literal["available", "reserved", "sold", "removed", "all"] = "available"


class StockItemOut(Output):
    id: str
    subcategory_id: str
    deliverable: str | None
    status: str
    batch_id: str | None
    order_id: str | None
    sold_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, item: StockItem) -> "StockItemOut":
        return cls(id=item.id, subcategory_id=item.variant_id, deliverable=stock_service.reveal(item),
                   status=stock_service.item_state(item), batch_id=item.batch_id, order_id=item.order_id,
                   sold_at=item.sold_at, created_at=item.created_at)


class StockCountOut(Output):
    subcategory_id: str
    stock_count: int
    product_stock_total: int
    removed: int = 0
    message: str
