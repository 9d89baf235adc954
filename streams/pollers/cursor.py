"""Cursor Admin API: team members, daily usage, filtered usage events, spend.

HTTP Basic with the API key as username; the documented budget is ~20 requests a minute per
team (`CURSOR_REQUESTS_PER_MINUTE`) and a 429 carries no `Retry-After`, so it backs off.
Daily usage and usage events are read in windows of at most 30 days (epoch milliseconds),
each window checkpointed once published. Data are aggregated hourly and recent days settle
late, so every run re-reads a trailing window (`CURSOR_RESTATEMENT_DAYS`). Members and spend
are full listings, read whole on every pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from schemas.conform import conform
from streams.pollers.checkpoint import Cursor
from streams.pollers.source import Page, Resource, Source
from streams.pollers.utc import floor_to
from streams.pollers.vendor_http import PollError, VendorHttp
from usagemart.settings import Settings

NAME = "cursor"
DAY = timedelta(days=1)
WINDOW = timedelta(days=30)
"""daily-usage-data accepts at most 30 days; usage events are read in the same windows."""
EVENTS_PAGE_SIZE = 1000
SPEND_PAGE_SIZE = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

EventKey = tuple[Any, Any, Any, Any]
"""(timestamp, userEmail, model, kind) as sent: what an event's ordinal counts repeats of."""


# --- client -------------------------------------------------------------------------------------

def client(settings: Settings) -> VendorHttp:
    """Basic auth with the API key as username and an empty password, within the team's budget."""
    key = settings.require_secret("cursor_api_key")
    return VendorHttp(NAME, settings.cursor_base_url, auth=(key, ""),
                      requests_per_minute=settings.cursor_requests_per_minute, timeout=settings.http_timeout_seconds)


def resources(settings: Settings) -> list[Resource]:
    """Everything this source reads, each into its raw topic."""
    restatement = timedelta(days=settings.cursor_restatement_days)
    return [
        Resource("members", "raw.cursor.members", members),
        Resource("daily_usage", "raw.cursor.daily_usage", daily_usage, restatement=restatement),
        Resource("usage_events", "raw.cursor.usage_events", usage_events, restatement=restatement),
        Resource("spend", "raw.cursor.spend", spend),
    ]


# Data are aggregated hourly: polling more often would spend the request budget on unchanged data.
SOURCE = Source(NAME, client, resources, cadence=timedelta(minutes=10))


# --- resources ----------------------------------------------------------------------------------

def members(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Every member, removed ones included, as one page (the endpoint does not page)."""
    fetched_at = datetime.now(UTC)
    yield Page(http.page("GET", "/teams/members", _parse_members), fetched_at)


def daily_usage(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """One row per member and day, one request per window."""
    for start_ms, end_ms, reached in _windows(cursor):
        body = {"startDate": start_ms, "endDate": end_ms}
        yield Page(http.page("POST", "/teams/daily-usage-data", _parse_daily_usage, json_body=body), reached)


def usage_events(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Every usage event, exact repeats numbered by `ordinal`, paged within each window."""
    for start_ms, end_ms, reached in _windows(cursor):
        yield from _event_pages(http, start_ms, end_ms, reached)


def spend(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Each current member's spend in the current subscription cycle."""
    fetched_at = datetime.now(UTC)
    listed: frozenset[str] = frozenset()
    page = 1
    while True:
        # Join order: a member who joins mid-listing lands on the last page instead of shifting them all.
        request = {"page": page, "pageSize": SPEND_PAGE_SIZE, "sortBy": "date", "sortDirection": "asc"}
        body = http.page("POST", "/teams/spend", partial(_parse_spend, listed), json_body=request)
        more = page < body["pages"]
        yield Page(body["records"], None if more else fetched_at)
        if not more:
            return
        listed |= body["emails"]
        page += 1


# --- pagination and parsing ---------------------------------------------------------------------

def _windows(cursor: Cursor) -> Iterator[tuple[int, int, datetime]]:
    """(startDate, endDate) in epoch ms, both inclusive, of consecutive windows from the cursor's day
    to now, and the checkpoint each reaches: its end, but never past today, which is still aggregated."""
    now = datetime.now(UTC)
    today = floor_to(now, DAY)
    start = floor_to(cursor.start(), DAY)
    while start < now:
        end = min(start + WINDOW, now)
        yield _epoch_ms(start), _epoch_ms(end) - 1, min(end, today)
        start = end


def _event_pages(http: VendorHttp, start_ms: int, end_ms: int, reached: datetime) -> Iterator[Page]:
    seen: Counter[EventKey] = Counter()
    listed: int | None = None
    page = 1
    while True:
        request = {"startDate": start_ms, "endDate": end_ms, "page": page, "pageSize": EVENTS_PAGE_SIZE}
        body = http.page("POST", "/teams/filtered-usage-events", partial(_parse_events, page, seen),
                         json_body=request)
        # Pages are numbered over a newest-first listing: an event landing in the window while it is
        # paged shifts the later pages, and an event read twice would be numbered as a second repeat.
        if listed is not None and body["listed"] != listed:
            raise PollError(f"{NAME} POST /teams/filtered-usage-events {start_ms}..{end_ms}: the window "
                            f"changed while paging ({listed} then {body['listed']} events); re-read next pass")
        listed = body["listed"]
        seen.update(body["keys"])
        yield Page(body["records"], None if body["more"] else reached)
        if not body["more"]:
            return
        page += 1


def _parse_members(body: Any) -> list[dict[str, Any]]:
    return [conform("raw.cursor.members", member, **_id_as_text(member, "id")) for member in body["teamMembers"]]


def _parse_daily_usage(body: Any) -> list[dict[str, Any]]:
    return [conform("raw.cursor.daily_usage", row, **_id_as_text(row, "userId")) for row in body["data"]]


def _parse_events(page: int, seen: Mapping[EventKey, int], body: Any) -> dict[str, Any]:
    pagination = body["pagination"]
    if pagination["currentPage"] != page:
        raise ValueError(f"asked for page {page}, got page {pagination['currentPage']!r}")
    keys: Counter[EventKey] = Counter()
    records = []
    for event in body["usageEvents"]:
        key = (event["timestamp"], event["userEmail"], event.get("model"), event.get("kind"))
        records.append(conform("raw.cursor.usage_events", event, ordinal=seen.get(key, 0) + keys[key]))
        keys[key] += 1
    return {"records": records, "keys": keys, "listed": int(body["totalUsageEventsCount"]),
            "more": bool(pagination["hasNextPage"])}


def _parse_spend(listed: frozenset[str], body: Any) -> dict[str, Any]:
    # The cycle is a property of the response; each member row is keyed by it.
    cycle = body["subscriptionCycleStart"]
    records = [conform("raw.cursor.spend", row, subscriptionCycleStart=cycle) for row in body["teamMemberSpend"]]
    emails = frozenset(record["email"] for record in records)
    if emails & listed:
        raise ValueError("the page lists members an earlier page listed (a repeated page)")
    return {"records": records, "emails": emails, "pages": int(body["totalPages"])}


def _id_as_text(row: Mapping[str, Any], field: str) -> dict[str, str]:
    """The vendor's numeric member id as the contract's text; nothing when the row has none."""
    value = row.get(field)
    if value is None:
        return {}
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{field}: expected a member id, got {type(value).__name__}")
    return {field: str(value)}


def _epoch_ms(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(milliseconds=1)
