"""Import (migration) schemas: starting a WooCommerce import, and a job's progress and report."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field, StrictBool

from .common import Input, Output


class WooImportIn(Input):
    store: str = Field(min_length=1, max_length=80, description="The store to import into: its id or slug")
    url: str = Field(min_length=8, max_length=500, description="The WooCommerce site, e.g. `https://shop.example.com`")
    consumer_key: str = Field(min_length=1, max_length=200, description="A REST API key with read access (`ck_...`)")
    consumer_secret: str = Field(min_length=1, max_length=200,
                                 description="Its secret (`cs_...`): kept encrypted until the import is done, "
                                             "never shown or logged")
    dry_run: StrictBool = Field(False, description="Report what would be created, updated or skipped; write nothing")


class ImportProblem(Output):
    line: int | None = Field(None, description="CSV: the line of the file (the header is line 1)")
    ref: str | None = Field(None, description="WooCommerce: what it was about (`product 1042`)")
    reason: str


class ImportJobOut(Output):
    id: str
    store_id: str
    source: str = Field(description="`woocommerce` or `csv`")
    status: str = Field(description="PREVIEW (CSV, waiting), QUEUED, RUNNING, DONE, FAILED")
    dry_run: bool
    source_url: str | None
    file_name: str | None
    csv_format: str | None
    phase: str
    total: int = Field(description="Items to do: products (WooCommerce) or rows (CSV)")
    done: int
    percent: int
    created: int
    updated: int
    skipped: int
    failed: int
    counts: dict[str, dict[str, int]] = Field(description="created/updated/skipped per kind (category, tag, "
                                                           "attribute, product, variant, image)")
    problems: list[ImportProblem]
    problem_count: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    resumable: bool = Field(description="Whether `POST .../resume` takes it: FAILED, or RUNNING with no progress "
                                        "for 10 minutes (its worker died); else 409 `import_running`")
