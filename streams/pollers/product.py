"""Product usage API (defined by this project, see SOURCES.md): usage rows, five catalogs, the price book.

Usage is an `updated_since` feed (`streams.pollers.feed`): oldest update first, a published page
moves the checkpoint to the newest `updated_at` it held, and every run re-reads a trailing window
(`PRODUCT_RESTATEMENT_DAYS`) for rows restated late.
Catalogs and the price book are small listings, read whole on every pass. No authentication.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from schemas.conform import conform
from streams.pollers.checkpoint import Cursor
from streams.pollers.feed import feed_resource
from streams.pollers.source import Page, Resource, Source
from streams.pollers.vendor_http import VendorHttp
from usagemart.settings import Settings

NAME = "product"
CATALOGS = ("customers", "products", "plans", "countries", "currencies")
CATALOG_FIELDS = {"code", "name", "updated_at"}
"""Catalog fields the contract has columns for; the others become text `attributes`."""

RecordBuilder = Callable[[Mapping[str, Any]], dict[str, Any]]


# --- client -------------------------------------------------------------------------------------

def client(settings: Settings) -> VendorHttp:
    """Unauthenticated client of the project's own API."""
    return VendorHttp(NAME, settings.product_base_url, requests_per_minute=settings.product_requests_per_minute,
                      timeout=settings.http_timeout_seconds)


# --- resources ----------------------------------------------------------------------------------

def resources(settings: Settings) -> list[Resource]:
    """Everything this source reads: catalogs and prices into `ref.*`, usage into its raw topic."""
    catalogs = [Resource(f"catalog_{name}", f"ref.catalog.{name}",
                         partial(_listing, f"/v1/catalog/{name}", partial(_catalog_record, f"ref.catalog.{name}")))
                for name in CATALOGS]
    return [
        *catalogs,
        Resource("pricebook", "ref.pricebook", partial(_listing, "/v1/pricebook", _price_record)),
        feed_resource("usage", "/v1/usage", "raw.product.usage", "updated_at",
                      restatement=timedelta(days=settings.product_restatement_days)),
    ]


SOURCE = Source(NAME, client, resources, cadence=timedelta(minutes=1))


# --- pagination and parsing ---------------------------------------------------------------------

def _listing(path: str, build: RecordBuilder, http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """A small listing read whole, as one page."""
    fetched_at = datetime.now(UTC)
    yield Page(http.page("GET", path, partial(_parse_listing, build)), fetched_at)


def _parse_listing(build: RecordBuilder, body: Any) -> list[dict[str, Any]]:
    return [build(row) for row in body["data"]]


def _catalog_record(topic: str, row: Mapping[str, Any]) -> dict[str, Any]:
    attributes = {key: value if isinstance(value, str) else json.dumps(value) for key, value in row.items()
                  if key not in CATALOG_FIELDS and isinstance(value, str | int | float | bool)}
    return conform(topic, row, attributes=attributes)


def _price_record(row: Mapping[str, Any]) -> dict[str, Any]:
    # A price without a plan is the product's default for every plan: the contract keys it by an
    # empty plan code (the key a null would have).
    plan_code = row.get("plan_code")
    return conform("ref.pricebook", row, plan_code="" if plan_code is None else plan_code,
                   unit_price=_decimal_text(row["unit_price"]))


def _decimal_text(value: Any) -> str:
    """A price as decimal text: a JSON number in its shortest round-trip form, a string as sent."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"unit_price: expected a decimal, got {type(value).__name__}")
    float(value)  # text that is not a number fails here, as a malformed page
    return str(value)
