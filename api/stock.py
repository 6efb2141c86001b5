"""Digital stock of a subcategory (Seed B admin, Admin): list (deliverables in plaintext: the only
place the API shows them), add, replace, clear, withdraw one, and recount.

Stock add/set take JSON `{"subcategoryId", "stock": ["CODE-1", ...]}` (or `"text": "a\\nb"`,
optional `delimiter`, `note`, `supplier`, `unit_cost`) or multipart with a `file` field plus the
same form fields. Blank lines are dropped; duplicates in the file and codes this store ever held
are skipped and counted. An empty list is a 422 `empty_import`; a file above MAX_IMPORT_BYTES
(32 MB by default) is a 413.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, request

from models import Product
from services import stock as stock_service
from services import variants as variant_service
from services.errors import Invalid
from transactions import write_lock, yield_write_lock

from .access import access, require_user
from .schemas.common import money_in, page_of
from .schemas.stock import StockCountOut, StockImportIn, StockImportOut, StockItemOut, StockQuery
from .uploads import json_or_multipart, read_upload, upload_limit

bp = APIBlueprint("api_stock", __name__, url_prefix="/api/admin", tag="Stock")













# --- subcategories -----------------------------------------------------------------------







def _count(variant_id: str, message: str, removed: int = 0) -> StockCountOut:
    variant = variant_service.get_variant(variant_id)
    product: Product = variant.product
    return StockCountOut(subcategory_id=variant.id, stock_count=variant.stock_count,
                         product_stock_total=product.stock_total, removed=removed, message=message)


@bp.route("/subcategory/<subcategory_id>/sync-stock", methods=["GET", "POST"])
@access("admin")
@bp.output(StockCountOut)
def sync_stock(subcategory_id: str):
    """Recount the cached `stock_count` of a subcategory and its product's total.

    A mutating GET as Seed B documents it; POST works too.
    """
    write_lock()  # a GET that writes
    count = stock_service.sync_stock_count(variant_service.get_variant(subcategory_id))
    return _count(subcategory_id, f"Stock count is {count}")


# --- stock ---------------------------------------------------------------------------------

def _import(body: StockImportIn, mode: str) -> StockImportOut:
    variant = variant_service.get_variant(body.subcategory_id)
    data = read_upload(_file(), upload_limit("MAX_IMPORT_BYTES"), required=False)
    sources = [s for s in (data, body.stock, body.text) if s is not None]
    if len(sources) > 1:
        raise Invalid("Send the deliverables one way: a file, a 'stock' list or 'text'", code="ambiguous_import")
    source = sources[0] if sources else []
    result = stock_service.import_stock(
        variant, source, mode=mode, delimiter=body.delimiter if not isinstance(source, list) else None,
        note=body.note or "", supplier=body.supplier, unit_cost=money_in(body.unit_cost, g.store.currency, "unit_cost"),
        created_by=require_user(), progress=lambda _done: yield_write_lock(),  # SQLite: others write between chunks
    )
    return StockImportOut(subcategory_id=variant.id, batch_id=result.batch.id, added=result.added,
                          duplicate_in_file=result.duplicate_in_file, already_known=result.already_known,
                          removed=result.removed, total_lines=result.total_lines, stock_count=result.stock_count)


def _file():
    return request.files.get("file") if request.mimetype == "multipart/form-data" else None


@bp.post("/stock/add")
@access("admin")
@json_or_multipart(StockImportIn)
@bp.output(StockImportOut)
def add_stock(body: StockImportIn):
    """Append deliverables to a digital subcategory.

    JSON `{"subcategoryId", "stock": [...]}` or `"text"`, or multipart with a `file`. Answers what
    was added and what was skipped: `added`, `duplicate_in_file`, `already_known`, `total_lines`,
    the new `stock_count`, `batch_id`. Empty: 422 `empty_import`; file too large: 413.
    """
    return _import(body, "add")


@bp.post("/stock/set")
@access("admin")
@json_or_multipart(StockImportIn)
@bp.output(StockImportOut)
def set_stock(body: StockImportIn):
    """Replace every unsold deliverable of a subcategory with this list.

    Same body as `/api/admin/stock/add`. Codes in both stay; `removed` counts the withdrawn ones.
    Sold items stay with their orders.
    """
    return _import(body, "set")


@bp.delete("/stock/clear/<subcategory_id>")
@access("admin")
@bp.output(StockCountOut)
def clear_stock(subcategory_id: str):
    """Withdraw every unsold deliverable of a subcategory.

    Sold ones stay with their orders. Withdrawn codes stay known, so they can never be imported
    or sold again.
    """
    removed = stock_service.clear_stock(variant_service.get_variant(subcategory_id))
    return _count(subcategory_id, f"{removed} item(s) withdrawn", removed)


@bp.delete("/stock/item/<item_id>")
@access("admin")
@bp.output(StockCountOut)
@bp.doc(responses={404: "No such item, or it was withdrawn already", 422: "The item is sold (`stock_item_sold`)"})
def delete_stock_item(item_id: str):
    """Withdraw one unsold deliverable (an addition to the Seed B table, for the stock page).

    A sold item stays with its order (422 `stock_item_sold`); an unknown or already withdrawn
    item is a 404.
    """
    item = stock_service.delete_stock_item(item_id)
    return _count(item.variant_id, "Item withdrawn", 1)


@bp.get("/stock/<subcategory_id>")
@access("admin")
@bp.input(StockQuery, location="query", arg_name="query")
@bp.output(page_of(StockItemOut))
def list_stock(subcategory_id: str, query: StockQuery):
    """The deliverables of a subcategory, in plaintext, newest first.

    `status`: available (default), reserved, sold, removed or all; withdrawn items have no
    deliverable any more. Paginated.
    """
    page = stock_service.list_stock(variant_service.get_variant(subcategory_id), status=query.status,
                                    page=query.page, page_size=query.page_size)
    return {**page, "items": [StockItemOut.of(i) for i in page["items"]]}
