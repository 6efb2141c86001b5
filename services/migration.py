"""Moving a store in from WooCommerce (Seed A "Migration", SysAdmin), and what every import shares:
the job row with its progress, and the mapping of outside ids to local rows (``ExternalRef``).

A WooCommerce import is one ``ImportJob`` run by ``jobs.imports.run_woocommerce_import`` in batches:
batch 0 is the taxonomy (categories with their tree, tags, attributes), then one batch per page of
products. Each batch flushes here and the job commits it (``cursor`` counts the committed batches),
so a worker killed mid-import leaves whole batches behind and a re-run of the same job resumes after
the last one. Whatever ran before, every row is found again by its WooCommerce id in
``external_refs`` (unique per store, source, kind, id): a re-run updates, never duplicates.
``fingerprint`` (a hash of what WooCommerce said) unchanged means skipped.

A dry run classifies the same way (would create / update / skip) and writes nothing but its job row.
Prices are decimal strings turned into minor units with ``Decimal`` (``money.to_minor``). Products
created count against the plan's product limit; a product refused by it is skipped with the reason.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from extensions import db
from integrations.woocommerce import DownloadError, WooClient, WooError, download
from models import (
    Attribute,
    AttributeValue,
    Category,
    ExternalRef,
    ImportJob,
    Product,
    Store,
    Tag,
    Variant,
)
from tenancy import current_store_id, tenant_scope
from transactions import enqueue_after_commit

from . import categories as category_service
from . import crypto, plans, tags_attributes
from . import products as product_service
from . import variants as variant_service
from .errors import Conflict, DomainError, Invalid, NotFound
from .images import add_image, prepare_image
from .money import to_minor
from .slugs import unique_slug
from .stores import get_store
from .text import UUID_RE

SOURCE = "woocommerce"
PRODUCTS_PER_BATCH = 50
MAX_PROBLEMS = 1000


def _now() -> datetime:
    return datetime.now(UTC)


def fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# --- the job row: progress and report (shared with the CSV import) ---------------------------

def job_view(job: ImportJob) -> dict:
    """What the API and the pages show of a job: never its credentials or its file."""
    percent = 100 if job.status == "DONE" else (int(job.done * 100 / job.total) if job.total else 0)
    report = job.report or {}
    return {"id": job.id, "store_id": job.store_id, "source": job.source, "status": job.status,
            "dry_run": job.dry_run, "source_url": job.source_url, "file_name": job.file_name,
            "csv_format": job.csv_format, "phase": job.phase, "total": job.total, "done": job.done,
            "percent": min(100, percent), "created": job.created, "updated": job.updated, "skipped": job.skipped,
            "failed": job.failed, "counts": report.get("counts", {}), "problems": report.get("problems", []),
            "problem_count": report.get("problem_count", len(report.get("problems", []))),
            "error": job.error, "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at, "resumable": resumable(job)}


def resumable(job: ImportJob, now: datetime | None = None) -> bool:
    """Failed, or RUNNING with no progress for ``STALE_AFTER`` (its worker died), and still holding
    what it needs (the WooCommerce credentials or the CSV file): what ``resume`` accepts."""
    if job.status not in ("FAILED", "RUNNING") or (job.credentials_encrypted if job.source == SOURCE
                                                   else job.payload) is None:
        return False
    return job.status == "FAILED" or job.updated_at < (now or datetime.now(UTC)) - STALE_AFTER


def add_problem(job: ImportJob, problem: dict) -> None:
    report = dict(job.report or {})
    problems = list(report.get("problems", []))
    if len(problems) < MAX_PROBLEMS:
        problems.append(problem)
    report["problems"] = problems
    report["problem_count"] = report.get("problem_count", 0) + 1
    job.report = report


def count(job: ImportJob, kind: str, outcome: str, n: int = 1) -> None:
    """Tally ``outcome`` (created, updated, skipped) for ``kind``; products (rows of a CSV) are the
    job's headline numbers."""
    report = dict(job.report or {})
    counts = {k: dict(v) for k, v in (report.get("counts") or {}).items()}
    counts.setdefault(kind, {"created": 0, "updated": 0, "skipped": 0})
    counts[kind][outcome] = counts[kind].get(outcome, 0) + n
    report["counts"] = counts
    job.report = report
    if kind == "product":
        setattr(job, outcome, getattr(job, outcome) + n)


def get_job(job_id: str, *, any_store: bool = False) -> ImportJob:
    """A job of the bound store (or, for the platform's pages and API, of any store)."""
    stmt = select(ImportJob).where(ImportJob.id == job_id)
    if any_store:
        stmt = stmt.execution_options(all_stores=True)
    job = db.session.scalar(stmt) if job_id and UUID_RE.match(job_id) else None
    if job is None:
        raise NotFound("No such import", code="import_not_found")
    return job


def list_jobs(*, source: str | None = None, any_store: bool = False, limit: int = 20) -> list[ImportJob]:
    stmt = select(ImportJob).order_by(ImportJob.created_at.desc()).limit(limit)
    if source:
        stmt = stmt.where(ImportJob.source == source)
    if any_store:
        stmt = stmt.execution_options(all_stores=True)
    return list(db.session.scalars(stmt))


def store_of_job(job: ImportJob) -> Store:
    return db.session.scalar(select(Store).where(Store.id == job.store_id))


def claim(job: ImportJob) -> bool:
    """QUEUED or FAILED -> RUNNING, as one guarded UPDATE: of two runs of the same job (a double
    "Resume"), one claims it and the other finds nothing to do. A killed worker leaves RUNNING,
    which only ``resume`` (QUEUED again) reopens."""
    claimed = db.session.execute(update(ImportJob).where(ImportJob.id == job.id, ImportJob.status.in_(("QUEUED", "FAILED")))
                                 .values(status="RUNNING").execution_options(synchronize_session=False)).rowcount
    if claimed:
        db.session.refresh(job)
    return bool(claimed)


def mark_running(job: ImportJob, phase: str) -> None:
    job.status = "RUNNING"
    job.phase = phase
    job.error = None
    job.started_at = job.started_at or _now()
    db.session.flush()


def finish(job: ImportJob) -> None:
    job.status = "DONE"
    job.phase = "done"
    job.finished_at = _now()
    job.credentials_encrypted = None  # the secret is kept no longer than the job needs it
    job.payload = None
    db.session.flush()


def fail(job_id: str, reason: str) -> None:
    """Recorded in a transaction of its own (``transactions.record_failure``). Credentials stay
    (encrypted) so that the same job can be resumed."""
    job = db.session.get(ImportJob, job_id)
    if job is not None:
        job.status = "FAILED"
        job.error = reason[:1000]
        db.session.flush()


# --- the mapping --------------------------------------------------------------------------------

class Refs:
    """The refs of one source in the bound store, loaded per kind (one query a kind)."""

    def __init__(self, source: str):
        self.source = source
        self._by_kind: dict[str, dict[str, ExternalRef]] = {}

    def of(self, kind: str) -> dict[str, ExternalRef]:
        if kind not in self._by_kind:
            rows = db.session.scalars(select(ExternalRef).where(ExternalRef.source == self.source,
                                                                ExternalRef.kind == kind))
            self._by_kind[kind] = {r.external_id: r for r in rows}
        return self._by_kind[kind]

    def get(self, kind: str, external_id) -> ExternalRef | None:
        return self.of(kind).get(str(external_id))

    def remember(self, kind: str, external_id, local_id: str, fp: str | None = None) -> None:
        refs = self.of(kind)
        ref = refs.get(str(external_id))
        if ref is None:
            ref = ExternalRef(source=self.source, kind=kind, external_id=str(external_id)[:160], local_id=local_id,
                              fingerprint=fp)
            db.session.add(ref)
            refs[str(external_id)] = ref
        else:
            ref.local_id, ref.fingerprint = local_id, fp

    def forget_loaded(self) -> None:
        self._by_kind.clear()


# --- starting -----------------------------------------------------------------------------------

def _find_store(key: str) -> Store:
    key = (key or "").strip()
    cond = Store.id == key if UUID_RE.match(key) else Store.slug == key.lower()
    store = db.session.scalar(select(Store).where(cond, Store.deleted_at.is_(None)).execution_options(all_stores=True))
    if store is None:
        raise NotFound("No such store", code="tenant_not_found")
    return store


def _check_site(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise Invalid("url must be the http(s) address of the WooCommerce site", details={"url": ["invalid"]})
    if len(url) > 500:
        raise Invalid("url is too long", details={"url": ["too long"]})
    return url


def start_woocommerce_import(*, store: str, url: str, consumer_key: str, consumer_secret: str,
                             dry_run: bool = False, actor_id: str | None = None) -> dict:
    """Queue an import of a WooCommerce site into ``store`` (id or slug). The key and secret are
    kept encrypted on the job until it is done, never in clear, never in the audit log."""
    target = _find_store(store)
    site = _check_site(url)
    for name, value in (("consumer_key", consumer_key), ("consumer_secret", consumer_secret)):
        if not value or not value.strip() or len(value) > 200:
            raise Invalid(f"{name} is required", details={name: ["required"]})
    with tenant_scope(target):
        job = ImportJob(source=SOURCE, status="QUEUED", dry_run=bool(dry_run), source_url=site, phase="queued",
                        credentials_encrypted=crypto.encrypt(json.dumps({"key": consumer_key.strip(),
                                                                          "secret": consumer_secret.strip()})),
                        created_by_id=actor_id, report={})
        db.session.add(job)
        db.session.flush()
        queue_woocommerce(job)
        return job_view(job)


def queue_woocommerce(job: ImportJob) -> None:
    enqueue_after_commit("jobs.imports.run_woocommerce_import", job.id, job_options={"job_timeout": 4 * 3600})


STALE_AFTER = timedelta(minutes=10)  # a RUNNING job with no progress for this long lost its worker


def resume(job_id: str) -> dict:
    """Run a job that failed or was interrupted (a killed worker leaves it RUNNING) again: it goes
    on after its last committed batch."""
    job = get_job(job_id, any_store=True)
    if job.status == "DONE":
        raise Invalid("This import is done; start a new one to import again", code="import_done")
    if job.status == "PREVIEW" or (job.credentials_encrypted if job.source == SOURCE else job.payload) is None:
        raise Invalid("This import cannot be resumed", code="import_not_resumable")
    with tenant_scope(job.store_id):
        # a job still RUNNING is resumed only once its worker has been silent for STALE_AFTER (killed):
        # one guarded UPDATE, so a live run and two clicks never make two runs of the same job
        cutoff = datetime.now(UTC) - STALE_AFTER
        taken = db.session.execute(
            update(ImportJob).where(ImportJob.id == job_id, (ImportJob.status != "RUNNING") | (ImportJob.updated_at < cutoff),
                                    ImportJob.status.notin_(("DONE", "PREVIEW", "QUEUED")))
            .values(status="QUEUED", error=None).execution_options(synchronize_session=False)).rowcount
        if not taken:
            raise Conflict("This import is running or queued already; a stopped worker's import can be resumed "
                           f"{int(STALE_AFTER.total_seconds() // 60)} minutes after its last progress",
                           code="import_running")
        job = get_job(job_id)
        db.session.refresh(job)
        if job.source == SOURCE:
            queue_woocommerce(job)
        else:
            enqueue_after_commit("jobs.imports.run_csv_import", job.id, job_options={"job_timeout": 3600})
        return job_view(job)


# --- running (each function is one batch; the job commits between them) ------------------------

@dataclass
class WooRun:
    job: ImportJob
    client: WooClient
    refs: Refs
    currency: str
    allow_private: bool
    per_page: int = PRODUCTS_PER_BATCH
    would_create: int = 0  # dry run: products it would have created so far (for the plan limit)
    attribute_cache: dict = field(default_factory=dict)


def open_woocommerce(job_id: str, *, client: WooClient | None = None, per_page: int | None = None) -> WooRun | None:
    """The job ready to run (RUNNING), or None when there is nothing to do (done, unknown)."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.source != SOURCE or not claim(job):
        return None
    if client is None:
        if not job.credentials_encrypted:
            return None
        creds = json.loads(crypto.decrypt(job.credentials_encrypted))
        client = WooClient(job.source_url, creds["key"], creds["secret"],
                           backoff=current_app.config.get("IMPORT_RETRY_BACKOFF", 1.0))
    mark_running(job, "taxonomy" if job.cursor == 0 else "products")
    store = get_store(current_store_id())
    return WooRun(job, client, Refs(SOURCE), store.currency,
                  bool(current_app.config.get("IMPORT_ALLOW_PRIVATE_URLS")), per_page or PRODUCTS_PER_BATCH)


def woo_batches(run: WooRun):
    """Yield after each batch (flushed, not committed) so the job can commit it and count it."""
    job = run.job
    try:
        if job.cursor == 0:
            _taxonomy(run)
            job.cursor = 1
            job.phase = "products"
            db.session.flush()
            yield "taxonomy"
        page_number = job.cursor  # batch k >= 1 is products page k
        while True:
            page = run.client.page("products", page_number, run.per_page)
            job.total = page.total
            for product in page.items:
                _one_product(run, product)
                job.done += 1
            job.cursor = page_number + 1
            db.session.flush()
            yield f"products page {page_number}"
            if page_number >= page.total_pages or not page.items:
                break
            page_number += 1
    except WooError as exc:
        raise ImportStopped(str(exc)) from exc
    finish(job)


class ImportStopped(Exception):
    """WooCommerce could not be read (after the polite retries): the job fails with this reason."""


def _classify(ref: ExternalRef | None, fp: str, exists: bool) -> str:
    if ref is None or not exists:
        return "created"
    return "skipped" if ref.fingerprint == fp else "updated"


def _taxonomy(run: WooRun) -> None:
    categories = list(run.client.every("products/categories"))
    tags = list(run.client.every("products/tags"))
    attributes = list(run.client.every("products/attributes"))
    _categories(run, categories)
    _tags(run, tags)
    _attributes(run, attributes)


def _live(model, ref: ExternalRef | None):
    return db.session.get(model, ref.local_id) if ref is not None else None


def _categories(run: WooRun, rows: list[dict]) -> None:
    by_id = {int(c["id"]): c for c in rows if isinstance(c.get("id"), int)}
    placed: set[int] = set()
    order: list[dict] = []
    pending = list(by_id.values())
    while pending:  # parents before children; unknown parents or cycles end up at the top
        progress = [c for c in pending if not c.get("parent") or c["parent"] in placed or c["parent"] not in by_id]
        if not progress:
            progress = pending[:1]
        for c in progress:
            placed.add(int(c["id"]))
            order.append(c)
        pending = [c for c in pending if int(c["id"]) not in placed]
    for c in order:
        ref = run.refs.get("category", c["id"])
        data = {"name": c.get("name"), "slug": c.get("slug"), "parent": c.get("parent"),
                "description": c.get("description")}
        fp = fingerprint(data)
        local = _live(Category, ref)
        outcome = _classify(ref, fp, local is not None)
        parent_ref = run.refs.get("category", c.get("parent")) if c.get("parent") else None
        parent_id = parent_ref.local_id if parent_ref is not None else None
        if run.job.dry_run or outcome == "skipped":
            count(run.job, "category", outcome)
            continue
        try:
            with db.session.begin_nested():
                title = (c.get("name") or "")[:120]
                if local is None:
                    local = category_service.create_category(
                        title=title, slug=unique_slug(Category, c.get("slug") or title), parent_id=parent_id,
                        description=c.get("description") or "")
                else:
                    category_service.update_category(local, {"title": title, "parent_id": parent_id,
                                                             "description": c.get("description") or ""})
                run.refs.remember("category", c["id"], local.id, fp)
                db.session.flush()
        except DomainError as exc:
            run.refs.forget_loaded()
            add_problem(run.job, {"ref": f"category {c.get('id')}", "reason": exc.message})
        else:
            count(run.job, "category", outcome)


def _tags(run: WooRun, rows: list[dict]) -> None:
    for t in rows:
        ref = run.refs.get("tag", t["id"])
        fp = fingerprint({"name": t.get("name"), "slug": t.get("slug")})
        local = _live(Tag, ref)
        outcome = _classify(ref, fp, local is not None)
        if run.job.dry_run or outcome == "skipped":
            count(run.job, "tag", outcome)
            continue
        name = (t.get("name") or "")[:60]
        try:
            with db.session.begin_nested():
                if local is None:  # a tag of the same slug that the store already has is the same tag
                    local = db.session.scalar(select(Tag).where(Tag.slug == (t.get("slug") or "")[:80])) \
                        or tags_attributes.create_tag(name, unique_slug(Tag, t.get("slug") or name))
                else:
                    local.name = name
                run.refs.remember("tag", t["id"], local.id, fp)
                db.session.flush()
        except DomainError as exc:
            run.refs.forget_loaded()
            add_problem(run.job, {"ref": f"tag {t.get('id')}", "reason": exc.message})
        else:
            count(run.job, "tag", outcome)


def _attributes(run: WooRun, rows: list[dict]) -> None:
    for a in rows:
        ref = run.refs.get("attribute", a["id"])
        fp = fingerprint({"name": a.get("name")})
        local = _live(Attribute, ref)
        outcome = _classify(ref, fp, local is not None)
        if run.job.dry_run or outcome == "skipped":
            count(run.job, "attribute", outcome)
            continue
        try:
            with db.session.begin_nested():
                local = local or _attribute_named(run, a.get("name") or "")
                local.name = (a.get("name") or local.name)[:60]
                run.refs.remember("attribute", a["id"], local.id, fp)
                db.session.flush()
        except DomainError as exc:
            run.refs.forget_loaded()
            add_problem(run.job, {"ref": f"attribute {a.get('id')}", "reason": exc.message})
        else:
            count(run.job, "attribute", outcome)


def _attribute_named(run: WooRun, name: str) -> Attribute:
    name = name[:60].strip() or "Option"
    found = db.session.scalar(select(Attribute).where(Attribute.name == name))
    return found or tags_attributes.create_attribute(name)


def _attribute_value(run: WooRun, attr: dict) -> str:
    """The local attribute value id of a variation's {id, name, option}."""
    key = (attr.get("id") or 0, attr.get("name"), attr.get("option"))
    if key in run.attribute_cache:
        return run.attribute_cache[key]
    ref = run.refs.get("attribute", attr["id"]) if attr.get("id") else None
    attribute = _live(Attribute, ref) or _attribute_named(run, attr.get("name") or "")
    option = (attr.get("option") or "")[:80].strip() or "-"
    value = db.session.scalar(select(AttributeValue).where(AttributeValue.attribute_id == attribute.id,
                                                           AttributeValue.value == option))
    if value is None:
        value = tags_attributes.add_attribute_value(attribute, option)
    run.attribute_cache[key] = value.id
    return value.id


def _price(run: WooRun, item: dict, what: str) -> int:
    raw = (item.get("price") or item.get("regular_price") or "").strip()
    if not raw:
        raise Invalid(f"{what} has no price")
    return to_minor(raw, run.currency, field="price")


def _is_digital(item: dict) -> bool:
    return bool(item.get("virtual") or item.get("downloadable"))


def _stock(item: dict, parent: dict | None = None) -> int:
    manage = item.get("manage_stock")
    if manage == "parent" and parent is not None:
        item, manage = parent, parent.get("manage_stock")
    if manage is True and isinstance(item.get("stock_quantity"), int):
        return max(0, min(item["stock_quantity"], 10**9))
    return 0


def _variant_specs(run: WooRun, product: dict, variations: list[dict], kind: str) -> list[dict]:
    """One spec per variant: a simple product is one variant; a variable one a variant per variation."""
    if product.get("type") != "variable":
        return [{"ext": str(product["id"]), "title": "Default", "sku": product.get("sku"),
                 "price": _price(run, product, "the product"), "stock_count": _stock(product), "attrs": []}]
    specs = []
    for v in variations:
        try:
            price = _price(run, v, f"variation {v.get('id')}")
        except DomainError as exc:
            add_problem(run.job, {"ref": f"product {product['id']}", "reason": exc.message})
            continue
        options = [a.get("option") for a in v.get("attributes") or [] if a.get("option")]
        specs.append({"ext": str(v["id"]), "title": (" / ".join(options) or f"Variation {v['id']}")[:200],
                      "sku": v.get("sku"), "price": price, "stock_count": _stock(v, product),
                      "attrs": v.get("attributes") or []})
    return specs


def _free_sku(sku: str | None, variant_id: str | None) -> str | None:
    sku = (sku or "").strip()[:64] or None
    if sku is None:
        return None
    clash = db.session.scalar(select(Variant.id).where(Variant.sku == sku, Variant.deleted_at.is_(None)))
    return sku if clash is None or clash == variant_id else None


def _one_product(run: WooRun, product: dict) -> None:
    job = run.job
    pid = product.get("id")
    if product.get("type") not in ("simple", "variable"):
        count(job, "product", "skipped")
        add_problem(job, {"ref": f"product {pid}", "reason": f"{product.get('type')} products are not imported"})
        return
    variations = run.client.variations(pid) if product.get("type") == "variable" else []
    fp = fingerprint({"p": product, "v": variations})
    ref = run.refs.get("product", pid)
    local = _live(Product, ref)
    if local is not None and local.deleted_at is not None:
        local = None
    outcome = _classify(ref, fp, local is not None)
    if job.dry_run:
        if outcome == "created":
            try:
                plans.check_product_limit(adding=run.would_create + 1, lock=False)
                run.would_create += 1
            except DomainError as exc:
                outcome = "skipped"
                add_problem(job, {"ref": f"product {pid}", "reason": exc.message})
        count(job, "product", outcome)
        count(job, "variant", outcome, len(variations) if variations else 1)
        new_images = [i for i in _images_of(product, variations) if run.refs.get("image", i["id"]) is None]
        if new_images:
            count(job, "image", "created", len(new_images))
        return
    if outcome == "skipped":
        count(job, "product", "skipped")
        return
    try:
        with db.session.begin_nested():
            _write_product(run, product, variations, local, fp)
    except DomainError as exc:
        run.refs.forget_loaded()
        count(job, "product", "skipped")
        add_problem(job, {"ref": f"product {pid}", "reason": exc.message})
        return
    count(job, "product", outcome)
    _import_images(run, product, variations)


def _write_product(run: WooRun, product: dict, variations: list[dict], local: Product | None, fp: str) -> None:
    digital = _is_digital(product) if product.get("type") != "variable" else bool(variations) and all(
        _is_digital(v) for v in variations)
    kind = "digital" if digital else "physical"
    specs = _variant_specs(run, product, variations, kind)
    if not specs:
        raise Invalid("it has no variation with a price")
    category_ref = next((run.refs.get("category", c.get("id")) for c in product.get("categories") or []
                         if run.refs.get("category", c.get("id"))), None)
    tag_ids = [r.local_id for r in (run.refs.get("tag", t.get("id")) for t in product.get("tags") or []) if r]
    fields = {"title": (product.get("name") or "")[:200], "description": product.get("description") or "",
              "category_id": category_ref.local_id if category_ref else None, "kind": kind,
              "is_enabled": product.get("status", "publish") == "publish", "tag_ids": tag_ids}
    if local is None:
        slug = unique_slug(Product, product.get("slug") or fields["title"])
        local = product_service.create_product({**fields, "slug": slug})
    else:
        product_service.update_product(local, fields)
    run.refs.remember("product", product["id"], local.id, fp)
    for i, spec in enumerate(specs):
        vref = run.refs.get("variant", spec["ext"])
        variant = _live(Variant, vref)
        if variant is not None and (variant.deleted_at is not None or variant.product_id != local.id):
            variant = None
        data = {"title": spec["title"], "price": spec["price"], "sort_order": i,
                "sku": _free_sku(spec["sku"], variant.id if variant else None)}
        if spec["sku"] and data["sku"] is None:
            add_problem(run.job, {"ref": f"product {product['id']}",
                                  "reason": f"SKU {spec['sku']!r} is used by another product here: imported without it"})
        if kind == "physical":
            data["stock_count"] = spec["stock_count"]
        value_ids = [_attribute_value(run, a) for a in spec["attrs"]]
        if value_ids:
            data["attribute_value_ids"] = value_ids
        if variant is None:
            variant = variant_service.create_variant(local, data)
            count(run.job, "variant", "created")
        else:
            variant_service.update_variant(variant, data)
            count(run.job, "variant", "updated")
        run.refs.remember("variant", spec["ext"], variant.id)
    db.session.flush()


def _images_of(product: dict, variations: list[dict]) -> list[dict]:
    seen, out = set(), []
    for image in list(product.get("images") or []) + [v.get("image") for v in variations if v.get("image")]:
        if image and image.get("id") is not None and image.get("src") and image["id"] not in seen:
            seen.add(image["id"])
            out.append(image)
    return out


def _import_images(run: WooRun, product: dict, variations: list[dict]) -> None:
    ref = run.refs.get("product", product["id"])
    local = db.session.get(Product, ref.local_id)
    for image in _images_of(product, variations):
        if run.refs.get("image", image["id"]) is not None:
            count(run.job, "image", "skipped")
            continue
        try:
            stored = fetch_image(local, image["src"], allow_private=run.allow_private)
        except (DomainError, DownloadError) as exc:
            reason = exc.message if isinstance(exc, DomainError) else str(exc)
            add_problem(run.job, {"ref": f"product {product['id']}", "reason": f"image {image['src']}: {reason}"})
            count(run.job, "image", "skipped")
            continue
        run.refs.remember("image", image["id"], stored.id)
        count(run.job, "image", "created")


def fetch_image(product: Product, url: str, *, allow_private: bool = False):
    """Download an image (size and time limits), check and re-encode it like an upload, record it."""
    max_bytes = current_app.config["MAX_IMAGE_BYTES"]
    data = download(url, max_bytes=max_bytes, timeout=current_app.config.get("IMPORT_IMAGE_TIMEOUT", 20),
                    allow_private=allow_private)
    return add_image(product, prepare_image(product, data))
