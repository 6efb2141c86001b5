"""CSV import of products, variants and prices (admins): WooCommerce's own product CSV export, or the
generic format (one row per variant). Steps: ``stage`` (upload: the file is read with the stdlib
``csv`` module, its format and columns recognised, every row checked; the job waits in PREVIEW with
the first rows and every problem), ``start`` (queued), then ``jobs.imports.run_csv_import`` runs
``batches`` (``BATCH_ROWS`` rows each, committed by the job one by one, so a re-run resumes after the
last whole batch).

**Generic CSV** (header names, any order, case-insensitive): ``product`` (required), ``variant``
(default "Default"), ``price`` (required, decimal in major units: ``12.50``), ``min`` (default 1),
``max`` (0 = no limit), ``category`` (a path: ``Games > PC``), ``description`` (HTML, cleaned),
``image_url``, and optional ``sku``, ``kind`` (``digital``, the default, or ``physical``), ``stock``
(physical only: the inventory count). The key of a row is its ``sku``, else product + variant.

**WooCommerce export**: ``ID``, ``Type`` (simple, variable, variation; ``virtual``/``downloadable``
make it digital), ``SKU``, ``Name``, ``Published``, ``Description``, ``Regular price``, ``Sale
price`` (used when set), ``Stock``, ``Categories`` (the first path), ``Images`` (the first),
``Parent`` (``id:123`` or the parent's SKU), ``Attribute N name`` / ``Attribute N value(s)``. The key
is ``ID`` (else SKU); a variable row is the product, its variation rows its variants.

Idempotent on the key: ``external_refs`` (source ``csv``) maps each key to the variant (and each
product key to the product) made the first time; a row unchanged since is skipped. Bad rows are
reported with their line and reason; good rows still import. Fast: each batch reads its refs,
SKUs and products in a few queries and writes with one bulk statement per table.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, update

from extensions import db
from integrations.woocommerce import DownloadError
from models import Category, ExternalRef, ImportJob, Product, Variant, VariantAttributeValue
from models.base import new_id
from tenancy import current_store_id
from transactions import enqueue_after_commit

from . import categories as category_service
from . import plans, tags_attributes
from .errors import DomainError, Forbidden, Invalid
from .migration import add_problem, claim, fetch_image, fingerprint, finish, get_job, mark_running
from .money import to_minor
from .stores import get_store, settings_of
from .text import has_control_chars, sanitize_html, slugify
from .variants import MAX_PRICE

SOURCE = "csv"
BATCH_ROWS = 1000
PREVIEW_ROWS = 10
GENERIC_FIELDS = ("sku", "product", "category", "variant", "price", "min", "max", "description", "image_url",
                  "kind", "stock")
WOO_FIELDS = {"id": "ID", "type": "Type", "sku": "SKU", "name": "Name", "published": "Published",
              "description": "Description", "regular_price": "Regular price", "sale_price": "Sale price",
              "stock": "Stock", "categories": "Categories", "images": "Images", "parent": "Parent"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Row:
    line: int
    key: str
    product_key: str
    product_title: str = ""
    category: tuple[str, ...] = ()
    description: str = ""
    kind: str = "digital"
    published: bool = True
    image_url: str | None = None
    variant_title: str = "Default"
    sku: str | None = None
    price: int = 0
    min_q: int = 1
    max_q: int = 0
    stock: int | None = None
    attrs: list[tuple[str, str]] = field(default_factory=list)

    def product_fp(self) -> str:
        return fingerprint([self.product_title, self.category, self.description, self.published])

    def variant_fp(self) -> str:
        return fingerprint([self.variant_title, self.sku, self.price, self.min_q, self.max_q, self.stock, self.attrs])


@dataclass
class Parsed:
    fmt: str
    headers: list[str]
    mapping: dict[str, str]  # our field -> the file's column
    sample: list[list[str]]
    rows: list[Row]
    problems: list[dict]
    lines: int


# --- reading and checking -------------------------------------------------------------------

def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("The file is not text (UTF-8 or Windows-1252)", code="csv_unreadable", details={"file": ["not text"]})


def detect(headers: list[str]) -> str:
    lower = {h.strip().lower() for h in headers}
    if {"type", "name"} <= lower and ("regular price" in lower or "sku" in lower):
        return "woocommerce"
    if {"product", "price"} <= lower:
        return "generic"
    raise Invalid("Columns not recognised: a WooCommerce product export (ID, Type, SKU, Name, Regular price, ...) "
                  "or the generic format (product, variant, price, ...)", code="csv_unknown_format",
                  details={"file": ["unknown columns"]})


def parse(text: str, currency: str, allow_free: bool) -> Parsed:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration:
        raise Invalid("The file is empty", code="csv_empty", details={"file": ["empty"]}) from None
    except csv.Error as exc:
        raise Invalid(f"The file is not CSV ({exc})", code="csv_unreadable", details={"file": ["not csv"]}) from exc
    fmt = detect(headers)
    index = {h.strip().lower(): i for i, h in enumerate(headers)}
    records: list[tuple[int, list[str]]] = []
    problems: list[dict] = []
    try:
        for raw in reader:
            if any(cell.strip() for cell in raw):
                records.append((reader.line_num, raw))
    except csv.Error as exc:
        problems.append({"line": reader.line_num, "reason": f"unreadable CSV: {exc}"})
    sample = [raw for _, raw in records[:PREVIEW_ROWS]]
    checker = _Checker(currency, allow_free)
    if fmt == "generic":
        mapping = {f: headers[index[f]] for f in GENERIC_FIELDS if f in index}
        rows = _generic(records, index, checker, problems)
    else:
        mapping = {f: col for f, col in WOO_FIELDS.items() if col.lower() in index}
        rows = _woo(records, index, checker, problems)
    problems.sort(key=lambda p: p.get("line") or 0)
    return Parsed(fmt, headers, mapping, sample, rows, problems, len(records))


class RowError(Exception):
    pass


class _Checker:
    def __init__(self, currency: str, allow_free: bool):
        self.currency, self.allow_free = currency, allow_free

    def text(self, value: str, name: str, max_length: int, required: bool = False) -> str:
        value = (value or "").strip()
        if required and not value:
            raise RowError(f"{name} is empty")
        if has_control_chars(value):
            raise RowError(f"{name} contains a control character")
        if len(value) > max_length:
            raise RowError(f"{name} is longer than {max_length} characters")
        return value

    def price(self, value: str) -> int:
        value = (value or "").strip().replace(",", ".") if (value or "").count(",") == 1 and "." not in value else (value or "").strip()
        if not value:
            raise RowError("price is empty")
        try:
            minor = to_minor(value, self.currency, field="price")
        except DomainError as exc:
            raise RowError(f"price {value!r}: {exc.message}") from None
        if minor < 0:
            raise RowError("price is negative")
        if minor == 0 and not self.allow_free:
            raise RowError("price is 0 (this store does not give items away)")
        if minor > MAX_PRICE:
            raise RowError("price is too large")
        return minor

    def whole(self, value: str, name: str, default: int, minimum: int = 0) -> int:
        value = (value or "").strip()
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            raise RowError(f"{name} {value!r} is not a whole number") from None
        if number < minimum or number > 10**9:
            raise RowError(f"{name} must be at least {minimum}")
        return number


def _cell(raw: list[str], index: dict[str, int], name: str) -> str:
    i = index.get(name.lower())
    return raw[i] if i is not None and i < len(raw) else ""


def _category(value: str, checker: _Checker) -> tuple[str, ...]:
    first = (value or "").replace("\\,", "\0").split(",")[0].replace("\0", ",")
    parts = tuple(checker.text(p, "category", 120) for p in first.split(">") if p.strip())
    return parts[:5]


def _generic(records, index, checker: _Checker, problems: list[dict]) -> list[Row]:
    rows, seen = [], {}
    for line, raw in records:
        def cell(name, raw=raw):
            return _cell(raw, index, name)
        try:
            product = checker.text(cell("product"), "product", 200, required=True)
            variant = checker.text(cell("variant"), "variant", 200) or "Default"
            sku = checker.text(cell("sku"), "sku", 64) or None
            kind = (cell("kind").strip().lower() or "digital")
            if kind not in ("digital", "physical"):
                raise RowError(f"kind {kind!r} is not digital or physical")
            min_q = checker.whole(cell("min"), "min", 1, minimum=1)
            max_q = checker.whole(cell("max"), "max", 0)
            if max_q and max_q < min_q:
                raise RowError(f"min ({min_q}) is above max ({max_q})")
            url = checker.text(cell("image_url"), "image_url", 500) or None
            if url and not url.lower().startswith(("http://", "https://")):
                raise RowError("image_url is not an http(s) address")
            row = Row(line=line, key=f"sku:{sku}" if sku else f"pv:{product.lower()}\x1f{variant.lower()}",
                      product_key=f"p:{product.lower()}", product_title=product,
                      category=_category(cell("category"), checker),
                      description=checker.text(cell("description"), "description", 100_000), kind=kind,
                      image_url=url, variant_title=variant, sku=sku, price=checker.price(cell("price")),
                      min_q=min_q, max_q=max_q,
                      stock=checker.whole(cell("stock"), "stock", 0) if kind == "physical" else None)
        except RowError as exc:
            problems.append({"line": line, "reason": str(exc)})
            continue
        if row.key in seen:
            problems.append({"line": line, "reason": f"the same {'SKU' if sku else 'product and variant'} as line {seen[row.key]}"})
            continue
        seen[row.key] = line
        rows.append(row)
    return rows


def _woo(records, index, checker: _Checker, problems: list[dict]) -> list[Row]:
    parents: dict[str, Row] = {}  # "id:12" and "sku:X" -> the variable product's row
    by_sku, rows, pending = {}, [], []
    seen: dict[str, int] = {}
    attr_slots = sorted({int(h.split()[1]) for h in index if h.startswith("attribute ") and h.endswith(" name")
                         and h.split()[1].isdigit()})
    for line, raw in records:
        def cell(name, raw=raw):
            return _cell(raw, index, name)
        try:
            types = {t.strip().lower() for t in cell("Type").split(",") if t.strip()}
            base = types & {"simple", "variable", "variation"}
            if not base:
                raise RowError(f"{cell('Type') or 'an empty'} type is not imported (simple, variable, variation only)")
            wc_id = cell("ID").strip()
            sku = checker.text(cell("SKU"), "SKU", 64) or None
            if not wc_id and not sku:
                raise RowError("no ID or SKU to recognise it by")
            key = f"id:{wc_id}" if wc_id else f"sku:{sku}"
            if key in seen:
                raise RowError(f"the same ID or SKU as line {seen[key]}")
            if sku and sku in by_sku:
                raise RowError(f"the same SKU as line {by_sku[sku]}")
            name = checker.text(cell("Name"), "Name", 200, required="variation" not in base)
            kind = "digital" if types & {"virtual", "downloadable"} else "physical"
            published = cell("Published").strip() not in ("0", "-1")
            description = checker.text(cell("Description") or cell("Short description"), "Description", 100_000)
            images = [u.strip() for u in cell("Images").split(",") if u.strip()]
            image = images[0] if images and images[0].lower().startswith(("http://", "https://")) else None
            attrs = []
            for n in attr_slots:
                attr_name = checker.text(cell(f"Attribute {n} name"), "Attribute name", 60)
                value = checker.text(cell(f"Attribute {n} value(s)"), "Attribute value", 200)
                if attr_name and value:
                    attrs.append((attr_name, value.split(",")[0].strip()[:80]))
            row = Row(line=line, key=key, product_key=key, product_title=name, category=_category(cell("Categories"), checker),
                      description=description, kind=kind, published=published, image_url=image, sku=sku)
            if "variable" in base:
                parents[key] = row
                if sku:
                    parents[f"sku:{sku}"] = row
                seen[key] = line
                continue
            sale = cell("Sale price").strip()
            row.price = checker.price(sale or cell("Regular price"))
            stock = cell("Stock").strip()
            row.stock = checker.whole(stock, "Stock", 0) if kind == "physical" else None
            if "variation" in base:
                parent = cell("Parent").strip()
                if not parent:
                    raise RowError("a variation without its Parent")
                row.attrs = attrs
                row.variant_title = (" / ".join(v for _, v in attrs) or name or "Variation")[:200]
                pending.append((row, parent if parent.startswith("id:") else f"sku:{parent}"))
            else:
                row.variant_title = "Default"
                rows.append(row)
            seen[key] = line
            if sku:
                by_sku[sku] = line
        except RowError as exc:
            problems.append({"line": line, "reason": str(exc)})
    used = set()
    for row, parent_key in pending:
        parent = parents.get(parent_key)
        if parent is None:
            problems.append({"line": row.line, "reason": f"its Parent {parent_key.split(':', 1)[1]!r} is not a variable "
                                                        "product of this file"})
            continue
        used.add(parent.key)
        row.product_key, row.product_title = parent.key, parent.product_title
        row.category, row.description, row.published = parent.category, parent.description, parent.published
        row.image_url = row.image_url or parent.image_url
        row.kind = parent.kind if parent.kind == "digital" else row.kind
        rows.append(row)
    for key, parent in parents.items():
        if key == parent.key and key not in used:
            problems.append({"line": parent.line, "reason": "a variable product with no variation in this file"})
    rows.sort(key=lambda r: r.line)
    return rows


# --- staging and starting ---------------------------------------------------------------------

def _store_rules() -> tuple[str, bool]:
    store = get_store(current_store_id())
    return store.currency, settings_of(store).allow_free_items


def stage(data: bytes, file_name: str, *, actor_id: str | None = None) -> ImportJob:
    """Read and check an uploaded file; the job waits in PREVIEW for the admin's go."""
    limit = current_app.config.get("IMPORT_MAX_CSV_BYTES", 20 * 1024 * 1024)
    if len(data) > limit:
        raise Invalid(f"The file is larger than {limit // (1024 * 1024)} MB", code="csv_too_large",
                      details={"file": ["too large"]})
    if not data.strip():
        raise Invalid("The file is empty", code="csv_empty", details={"file": ["empty"]})
    text = decode(data)
    parsed = parse(text, *_store_rules())
    job = ImportJob(source=SOURCE, status="PREVIEW", file_name=(file_name or "import.csv")[:200], csv_format=parsed.fmt,
                    payload=text, phase="preview", total=parsed.lines, created_by_id=actor_id,
                    report={"problems": parsed.problems[:1000], "problem_count": len(parsed.problems),
                            "preview": {"headers": parsed.headers, "mapping": parsed.mapping,
                                        "rows": parsed.sample, "good_rows": len(parsed.rows)}})
    db.session.add(job)
    db.session.flush()
    return job


def start(job: ImportJob) -> ImportJob:
    if job.status != "PREVIEW" or job.source != SOURCE:
        raise Invalid("This import has already started", code="import_started")
    job.status, job.phase = "QUEUED", "queued"
    db.session.flush()
    enqueue_after_commit("jobs.imports.run_csv_import", job.id, job_options={"job_timeout": 3600})
    return job


def summary_csv(job: ImportJob) -> str:
    """What the import did, for download: the counts, then every problem with its line."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", job.file_name])
    writer.writerow(["status", job.status])
    for name in ("total", "created", "updated", "skipped", "failed"):
        writer.writerow([name, getattr(job, name)])
    writer.writerow([])
    writer.writerow(["line", "problem"])
    for problem in (job.report or {}).get("problems", []):
        writer.writerow([problem.get("line") or problem.get("ref") or "", problem.get("reason", "")])
    return out.getvalue()


# --- running ----------------------------------------------------------------------------------

@dataclass
class CsvRun:
    job: ImportJob
    rows: list[Row]
    store_id: str
    batch_size: int
    slugs: set[str]
    categories: dict[tuple[str | None, str], str]  # (parent id, lower title) -> id
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    allow_private: bool = False


def open_run(job_id: str, *, batch_size: int | None = None) -> CsvRun | None:
    job = db.session.get(ImportJob, job_id)
    if job is None or job.source != SOURCE or job.payload is None or not claim(job):
        return None
    parsed = parse(job.payload, *_store_rules())
    if job.cursor == 0:  # a fresh run: the problems of the file, then those found while importing
        job.report = {"problems": parsed.problems[:1000], "problem_count": len(parsed.problems),
                      "preview": (job.report or {}).get("preview")}
        job.failed = len(parsed.problems)
        job.done = 0
        job.total = len(parsed.rows)  # progress is over the good rows
        job.created = job.updated = job.skipped = 0
    mark_running(job, "rows")
    slugs = set(db.session.scalars(select(Product.slug)))
    categories = {(c.parent_id, c.title.lower()): c.id for c in db.session.scalars(select(Category))}
    return CsvRun(job, parsed.rows, job.store_id, batch_size or BATCH_ROWS, slugs, categories,
                  allow_private=bool(current_app.config.get("IMPORT_ALLOW_PRIVATE_URLS")))


def batches(run: CsvRun):
    job = run.job
    while job.cursor * run.batch_size < len(run.rows):
        start_at = job.cursor * run.batch_size
        chunk = run.rows[start_at:start_at + run.batch_size]
        _batch(run, chunk)
        job.cursor += 1
        job.done += len(chunk)
        db.session.flush()
        yield job.cursor
    finish(job)


def _bad(run: CsvRun, row: Row, reason: str) -> None:
    add_problem(run.job, {"line": row.line, "reason": reason})
    run.job.failed += 1


def _category_id(run: CsvRun, path: tuple[str, ...]) -> str | None:
    parent = None
    for title in path:
        key = (parent, title.lower())
        if key not in run.categories:
            run.categories[key] = category_service.create_category(title=title, parent_id=parent).id
        parent = run.categories[key]
    return parent


def _attribute_value_id(run: CsvRun, name: str, value: str) -> str:
    key = (name.lower(), value.lower())
    if key not in run.attributes:
        attribute = next((a for a in tags_attributes.list_attributes() if a.name.lower() == name.lower()), None)
        found = next((v for v in attribute.values if v.value.lower() == value.lower()), None) if attribute else None
        if attribute is None:
            attribute = tags_attributes.create_attribute(name)
        run.attributes[key] = (found or tags_attributes.add_attribute_value(attribute, value)).id
    return run.attributes[key]


def _refs(kind: str, keys) -> dict[str, ExternalRef]:
    keys = list(set(keys))
    if not keys:
        return {}
    return {r.external_id: r for r in db.session.scalars(
        select(ExternalRef).where(ExternalRef.source == SOURCE, ExternalRef.kind == kind,
                                  ExternalRef.external_id.in_(keys)))}


def _ext(key: str) -> str:
    """An external id fits the column: long keys (product and variant names) go in as their hash."""
    return key if len(key) <= 160 else "h:" + fingerprint(key)


def _room_for(wanted: int) -> int:
    try:
        plans.check_product_limit(adding=wanted)
        return wanted
    except Forbidden as exc:
        count = db.session.scalar(select(func.count()).select_from(Product).where(Product.deleted_at.is_(None))) or 0
        return max(0, int(exc.details.get("max", 0)) - count)


def _batch(run: CsvRun, chunk: list[Row]) -> None:
    job, now = run.job, _now()
    vrefs = _refs("variant", (_ext(r.key) for r in chunk))
    prefs = _refs("product", (_ext(r.product_key) for r in chunk))
    live_variants = set(db.session.scalars(select(Variant.id).where(
        Variant.id.in_([r.local_id for r in vrefs.values()]), Variant.deleted_at.is_(None)))) if vrefs else set()
    live_products = {p.id: p for p in db.session.execute(select(Product.id, Product.kind).where(
        Product.id.in_([r.local_id for r in prefs.values()]), Product.deleted_at.is_(None)))} if prefs else {}
    skus = [r.sku for r in chunk if r.sku]
    sku_owner = dict(db.session.execute(select(Variant.sku, Variant.id).where(
        Variant.sku.in_(skus), Variant.deleted_at.is_(None))).all()) if skus else {}

    # products: which exist, which are new (the plan's limit decides how many fit)
    new_products: dict[str, Row] = {}
    product_of: dict[str, str] = {}
    product_kind: dict[str, str] = {}
    for row in chunk:
        ref = prefs.get(_ext(row.product_key))
        if ref is not None and ref.local_id in live_products:
            product_of[row.product_key] = ref.local_id
            product_kind[row.product_key] = live_products[ref.local_id].kind
        elif row.product_key not in new_products:
            new_products[row.product_key] = row
    room = _room_for(len(new_products)) if new_products else 0
    refused = set(list(new_products)[room:])
    product_inserts, product_updates, ref_inserts, ref_updates = [], [], [], []
    for pkey, row in new_products.items():
        if pkey in refused:
            continue
        pid = new_id()
        product_of[pkey], product_kind[pkey] = pid, row.kind
        product_inserts.append({"id": pid, "title": row.product_title, "slug": _slug(run, row.product_title),
                                "description": sanitize_html(row.description), "kind": row.kind,
                                "category_id": _category_id(run, row.category), "is_enabled": row.published})
        old = prefs.get(_ext(pkey))
        if old is not None:  # imported before, deleted since: the key points at the new product
            ref_updates.append({"_id": old.id, "local_id": pid, "fingerprint": row.product_fp()})
        else:
            ref_inserts.append({"id": new_id(), "source": SOURCE, "kind": "product", "external_id": _ext(pkey),
                                "local_id": pid, "fingerprint": row.product_fp()})
    seen_products = set()
    changed_products = set()
    for row in chunk:
        ref = prefs.get(_ext(row.product_key))
        if row.product_key in seen_products or row.product_key in new_products or ref is None:
            continue
        seen_products.add(row.product_key)
        if ref.fingerprint != row.product_fp() and ref.local_id in live_products:
            changed_products.add(row.product_key)
            product_updates.append({"_id": ref.local_id, "title": row.product_title,
                                    "description": sanitize_html(row.description),
                                    "category_id": _category_id(run, row.category), "is_enabled": row.published,
                                    "updated_at": now})
            ref_updates.append({"_id": ref.id, "local_id": ref.local_id, "fingerprint": row.product_fp()})

    # variants
    variant_inserts, variant_updates, links = [], [], []
    touched: set[str] = set()
    sort_in_product: dict[str, int] = {}
    for row in chunk:
        if row.product_key in refused:
            _bad(run, row, "not imported: the plan's product limit is reached")
            continue
        pid = product_of[row.product_key]
        vref = vrefs.get(_ext(row.key))
        variant_id = vref.local_id if vref is not None and vref.local_id in live_variants else None
        if row.sku and sku_owner.get(row.sku) not in (None, variant_id):
            _bad(run, row, f"SKU {row.sku!r} is used by another variant of this store")
            continue
        order = sort_in_product[pid] = sort_in_product.get(pid, -1) + 1
        physical = product_kind.get(row.product_key) == "physical"
        values = {"title": row.variant_title, "sku": row.sku, "price": row.price, "min_quantity": row.min_q,
                  "max_quantity": row.max_q, "sort_order": order}
        if physical:
            values["stock_count"] = row.stock or 0
        attr_ids = [_attribute_value_id(run, n, v) for n, v in row.attrs]
        if variant_id is None:
            variant_id = new_id()
            variant_inserts.append({"id": variant_id, "product_id": pid, "is_active": True, **values,
                                    "stock_count": values.get("stock_count", 0)})
            links += [{"variant_id": variant_id, "attribute_value_id": a} for a in attr_ids]
            if vref is not None:
                ref_updates.append({"_id": vref.id, "local_id": variant_id, "fingerprint": row.variant_fp()})
            else:
                ref_inserts.append({"id": new_id(), "source": SOURCE, "kind": "variant", "external_id": _ext(row.key),
                                    "local_id": variant_id, "fingerprint": row.variant_fp()})
            _tally(job, "created")
            touched.add(pid)
        elif vref.fingerprint != row.variant_fp():
            variant_updates.append({"_id": variant_id, **values, "stock_count": values.get("stock_count"),
                                    "updated_at": now})
            ref_updates.append({"_id": vref.id, "local_id": variant_id, "fingerprint": row.variant_fp()})
            _tally(job, "updated")
            touched.add(pid)
        elif row.product_key in changed_products:
            _tally(job, "updated")
        else:
            _tally(job, "skipped")
        if sku_owner is not None and row.sku:
            sku_owner[row.sku] = variant_id

    if product_inserts:
        db.session.execute(insert(Product), product_inserts)
    if product_updates:
        _core_update(Product, product_updates, ("title", "description", "category_id", "is_enabled", "updated_at"))
    if variant_inserts:
        db.session.execute(insert(Variant), variant_inserts)
    if variant_updates:
        with_stock = [u for u in variant_updates if u["stock_count"] is not None]
        without = [{k: v for k, v in u.items() if k != "stock_count"} for u in variant_updates if u["stock_count"] is None]
        common = ("title", "sku", "price", "min_quantity", "max_quantity", "sort_order", "updated_at")
        if with_stock:
            _core_update(Variant, with_stock, (*common, "stock_count"))
        if without:
            _core_update(Variant, without, common)
    if links:
        db.session.execute(insert(VariantAttributeValue), links)
    if ref_inserts:
        db.session.execute(insert(ExternalRef), ref_inserts)
    if ref_updates:
        _core_update(ExternalRef, [{**u, "updated_at": now} for u in ref_updates],
                     ("local_id", "fingerprint", "updated_at"))
    _refresh_caches(run, touched | set(product_of[k] for k in changed_products))
    db.session.flush()
    _images(run, chunk, product_of, new_products, refused)


def _tally(job: ImportJob, outcome: str) -> None:
    setattr(job, outcome, getattr(job, outcome) + 1)


def _slug(run: CsvRun, title: str) -> str:
    base = slugify(title) or "product"
    slug, n = base, 2
    while slug in run.slugs:
        slug, n = f"{base}-{n}", n + 1
    run.slugs.add(slug)
    return slug


def _core_update(model, rows: list[dict], columns) -> None:
    """One executemany UPDATE by primary key, filtered by the bound store by hand (Core statements
    are not scoped by tenancy.py)."""
    table = model.__table__
    stmt = (update(table).where(table.c.id == bindparam("_id"), table.c.store_id == current_store_id())
            .values({c: bindparam(c) for c in columns}))
    db.session.connection().execute(stmt, [{"_id": r["_id"], **{c: r[c] for c in columns}} for r in rows])


def _refresh_caches(run: CsvRun, product_ids: set[str]) -> None:
    """``starting_at`` and ``stock_total`` of the touched products: one UPDATE (what
    ``variants.refresh_product_cache`` computes, for many products at once)."""
    if not product_ids:
        return
    products, variants = Product.__table__, Variant.__table__
    live = (variants.c.product_id == products.c.id, variants.c.deleted_at.is_(None), variants.c.is_active.is_(True))
    db.session.connection().execute(
        update(products).where(products.c.id.in_(list(product_ids)), products.c.store_id == run.store_id)
        .values(starting_at=select(func.min(variants.c.price)).where(*live).scalar_subquery(),
                stock_total=select(func.coalesce(func.sum(variants.c.stock_count), 0)).where(*live).scalar_subquery()))


def _images(run: CsvRun, chunk: list[Row], product_of: dict, new_products: dict, refused: set) -> None:
    """The image of each product created now (or whose image address changed): downloaded with the
    same limits and checks as a WooCommerce image. A failure is a problem of that line only."""
    wanted = {}
    for row in chunk:
        if row.image_url and row.product_key not in refused and row.product_key not in wanted:
            wanted[row.product_key] = row
    if not wanted:
        return
    keys = {pkey: _ext(f"{pkey}\x1f{row.image_url}") for pkey, row in wanted.items()}
    done = _refs("image", keys.values())
    for pkey, row in wanted.items():
        if keys[pkey] in done:
            continue
        product = db.session.get(Product, product_of[pkey])
        try:
            image = fetch_image(product, row.image_url, allow_private=run.allow_private)
        except (DomainError, DownloadError) as exc:
            reason = exc.message if isinstance(exc, DomainError) else str(exc)
            add_problem(run.job, {"line": row.line, "reason": f"image not imported: {reason}"})
            continue
        db.session.add(ExternalRef(source=SOURCE, kind="image", external_id=keys[pkey], local_id=image.id))
    db.session.flush()


def get_csv_job(job_id: str) -> ImportJob:
    job = get_job(job_id)
    if job.source != SOURCE:
        raise Invalid("Not a CSV import", code="import_not_found")
    return job


def list_csv_jobs(limit: int = 20) -> list[ImportJob]:
    return list(db.session.scalars(select(ImportJob).where(ImportJob.source == SOURCE)
                                   .order_by(ImportJob.created_at.desc()).limit(limit)))
