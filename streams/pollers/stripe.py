"""Stripe: every charge in its latest state, into `raw.stripe.charges` (compacted, keyed by charge id).

A first run (or a `--since` backfill) lists charges by `created` (GET /v1/charges); later runs
read the `charge.*` events (GET /v1/events), each carrying the charge as it became.

Checkpoint semantics. The `charges` checkpoint is one instant H that means the same in both
modes: every charge created since the backfill began is on the topic in a state at least as new
as its state at H. A run reads [H - STRIPE_RESTATEMENT_DAYS, now) in ascending `created`
windows, and H moves to a window's end only once every page of the window is published:
- Both lists run newest first, so a half-paged window has covered its newest part, not its
  oldest: nothing below the window's end can be claimed before its last page is in.
- Backfill: /v1/charges returns each charge in its state at listing time, which is after the
  window's end b; so once [a, b) is complete, every charge created before b (in this window or
  an earlier one) is on the topic in a state no older than its state at b.
- Incremental: a complete window [a, b) of /v1/events holds every change made before b. Its
  events are reduced to the newest state per charge and published together; published page
  by page, an older state (a later page) would land after a newer one and win the compaction.
- Handover: a backfill ends with H = the run's start. A change made while it was paging, to a
  charge already listed in its old state, is an event after H that the next run reads. A killed
  backfill resumes from its H the same way: every charge created after H has an event after H.
- Retention: events are kept 30 days. When H is older than that, the run falls back to a
  charges backfill from H - lag (and says so): a change after H to a charge created before
  H - lag is then in neither list, and only a wider `--since` backfill picks it up.
Windows adapt to the volume, aiming at `WINDOW_PAGES` pages each: close to the fewest requests
the page size allows, and little to re-read after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.conform import conform
from streams.pollers.checkpoint import Cursor
from streams.pollers.source import Page, Resource, Source
from streams.pollers.vendor_http import VendorHttp
from usagemart.settings import Settings

logger = logging.getLogger(__name__)

NAME = "stripe"
TOPIC = "raw.stripe.charges"
STRIPE_VERSION = "2024-06-20"
PAGE_LIMIT = 100
CHARGES_PATH = "/v1/charges"
EVENTS_PATH = "/v1/events"
CHARGE_EVENTS = ["charge.captured", "charge.expired", "charge.failed", "charge.pending", "charge.refunded",
                 "charge.succeeded", "charge.updated"]
"""Events whose `data.object` is a charge (`charge.dispute.*` and `charge.refund.*` carry other objects)."""
EVENT_RETENTION = timedelta(days=30) - timedelta(hours=1)
"""Stripe keeps events 30 days; the hour is a margin for clock skew and the length of a run."""
FIRST_WINDOW = timedelta(days=7)
WINDOW_PAGES = 5


# --- client -------------------------------------------------------------------------------------

def client(settings: Settings) -> VendorHttp:
    """Bearer-authenticated client pinned to one API version, so response shapes cannot drift."""
    key = settings.require_secret("stripe_api_key")
    return VendorHttp(NAME, settings.stripe_base_url, requests_per_minute=settings.stripe_requests_per_minute,
                      headers={"Authorization": f"Bearer {key}", "Stripe-Version": STRIPE_VERSION},
                      timeout=settings.http_timeout_seconds)


def resources(settings: Settings) -> list[Resource]:
    """Everything this source reads, each into its raw topic."""
    return [Resource("charges", TOPIC, charges, restatement=timedelta(days=settings.stripe_restatement_days))]


SOURCE = Source(NAME, client, resources, cadence=timedelta(minutes=1))


# --- resources ----------------------------------------------------------------------------------

def charges(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Every charge's latest state: a backfill by `created`, then the events of later changes."""
    now = datetime.now(UTC).replace(microsecond=0)
    oldest_event = now - EVENT_RETENTION
    if cursor.last_value is None:
        return _windows(http, CHARGES_PATH, {}, cursor.start(), now)
    if cursor.last_value < oldest_event:
        logger.warning("stripe: checkpoint %s is older than the events' retention; listing the charges created "
                       "since %s instead (later changes to older charges need a --since backfill)",
                       cursor.last_value.isoformat(), cursor.start().isoformat())
        return _windows(http, CHARGES_PATH, {}, cursor.start(), now)
    return _windows(http, EVENTS_PATH, {"types[]": CHARGE_EVENTS}, max(cursor.start(), oldest_event), now)


# --- pagination and parsing ---------------------------------------------------------------------

def _windows(http: VendorHttp, path: str, params: dict[str, Any], start: datetime, end: datetime) -> Iterator[Page]:
    span = FIRST_WINDOW
    start = start.replace(microsecond=0)
    while start < end:
        stop = min(start + span, end)
        records, listed = _window(http, path, params, start, stop)
        yield Page(records, stop)
        span = _next_span(span, listed)
        start = stop


def _window(http: VendorHttp, path: str, params: dict[str, Any], start: datetime,
            stop: datetime) -> tuple[list[dict[str, Any]], int]:
    """The charges of one whole window, each in its newest state, and how many objects were listed."""
    request = {**params, "created[gte]": int(start.timestamp()), "created[lt]": int(stop.timestamp()),
               "limit": PAGE_LIMIT}
    newest: dict[str, dict[str, Any]] = {}
    listed = 0
    while True:
        body = http.page("GET", path, _parse_list, params=request)
        listed += body["listed"]
        for record in body["records"]:
            newest.setdefault(record["id"], record)
        if not body["has_more"]:
            return list(newest.values()), listed
        request = {**request, "starting_after": body["last_id"]}


def _next_span(span: timedelta, listed: int) -> timedelta:
    """The next window's length, scaled to the density just seen (at most 4x longer at a time)."""
    factor = min(4.0, WINDOW_PAGES * PAGE_LIMIT / listed) if listed else 4.0
    return timedelta(seconds=max(1, int(span.total_seconds() * factor)))


def _parse_list(body: Any) -> dict[str, Any]:
    items = body["data"]
    more = body["has_more"]
    if not isinstance(more, bool) or (more and not items):
        raise ValueError("has_more must be a boolean, and true only with data")
    found = [_charge_of(item) for item in items]
    return {"records": [_conform(charge) for charge in found if charge is not None], "listed": len(items),
            "has_more": more, "last_id": items[-1]["id"] if items else None}


def _charge_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """The charge a list item is or carries (an event's `data.object`); None for other events."""
    if item.get("object") != "event":
        return item
    return item["data"]["object"] if item["type"] in CHARGE_EVENTS else None


def _conform(charge: dict[str, Any]) -> dict[str, Any]:
    # Stripe times are epoch SECONDS; the contract's timestamps are read as milliseconds.
    return conform(TOPIC, charge, created=datetime.fromtimestamp(charge["created"], UTC))
