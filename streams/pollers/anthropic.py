"""Anthropic Admin API: usage report (1h and 1d buckets), cost report, Claude Code report, API keys, users.

Reports are paged with `has_more`/`next_page`; a page's complete buckets move the cursor.
Data appears ~5 minutes after use and recent days are restated, so every run re-reads a
trailing window (`ANTHROPIC_RESTATEMENT_DAYS`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from schemas.conform import conform
from streams.pollers.checkpoint import Cursor
from streams.pollers.source import Page, Resource, Source
from streams.pollers.utc import day_start, floor_to, rfc3339
from streams.pollers.vendor_http import VendorHttp
from usagemart.settings import Settings

NAME = "anthropic"
GROUP_BY = ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
BUCKET_LIMITS = {"1d": 31, "1h": 168}
BUCKET_SPANS = {"1d": timedelta(days=1), "1h": timedelta(hours=1)}
ENTITY_LIMIT = 1000
CLAUDE_CODE_LIMIT = 1000


# --- client -------------------------------------------------------------------------------------

def client(settings: Settings) -> VendorHttp:
    """Admin-key authenticated client; the Admin API expects about one poll a minute."""
    key = settings.require_secret("anthropic_admin_api_key")
    return VendorHttp(NAME, settings.anthropic_base_url, requests_per_minute=settings.anthropic_requests_per_minute,
                      headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                      timeout=settings.http_timeout_seconds)


def resources(settings: Settings) -> list[Resource]:
    """Everything this source reads, each into its raw topic."""
    restatement = timedelta(days=settings.anthropic_restatement_days)
    return [
        Resource("api_keys", "raw.anthropic.api_keys", partial(_entities, "/v1/organizations/api_keys",
                                                              "raw.anthropic.api_keys")),
        Resource("users", "raw.anthropic.users", partial(_entities, "/v1/organizations/users", "raw.anthropic.users")),
        Resource("usage_report_1d", "raw.anthropic.usage", partial(usage_report, "1d"), restatement=restatement),
        Resource("usage_report_1h", "raw.anthropic.usage", partial(usage_report, "1h"), lookback=timedelta(days=7),
                 restatement=restatement),
        Resource("cost_report", "raw.anthropic.cost", cost_report, restatement=restatement),
        Resource("claude_code", "raw.anthropic.claude_code", claude_code, restatement=restatement),
    ]


SOURCE = Source(NAME, client, resources, cadence=timedelta(minutes=1))


# --- resources ----------------------------------------------------------------------------------

def usage_report(bucket_width: str, http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Token usage per bucket, grouped by every dimension."""
    params: dict[str, Any] = {"bucket_width": bucket_width, "limit": BUCKET_LIMITS[bucket_width],
                              "group_by[]": GROUP_BY}
    yield from _report("/v1/organizations/usage_report/messages", "raw.anthropic.usage", bucket_width, params,
                       http, cursor)


def cost_report(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Daily cost per workspace and description; `amount` stays a decimal string in cents."""
    params: dict[str, Any] = {"bucket_width": "1d", "limit": BUCKET_LIMITS["1d"],
                              "group_by[]": ["workspace_id", "description"]}
    yield from _report("/v1/organizations/cost_report", "raw.anthropic.cost", "1d", params, http, cursor)


def claude_code(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """Claude Code productivity and estimated cost, one UTC day per request sequence."""
    # Only data older than an hour is served, so today is read but never checkpointed as done.
    today = datetime.now(UTC).date()
    day = cursor.start().date()
    while day <= today:
        records: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            params = {"starting_at": day.isoformat(), "limit": CLAUDE_CODE_LIMIT}
            if page_token:
                params["page"] = page_token
            body = http.page("GET", "/v1/organizations/usage_report/claude_code",
                             partial(_parse_claude_code, day), params=params)
            records.extend(body["records"])
            page_token = body["next_page"]
            if not page_token:
                break
        done = day < today
        yield Page(records, day_start(day + timedelta(days=1)) if done else None)
        day += timedelta(days=1)


# --- pagination and parsing ---------------------------------------------------------------------

def _report(path: str, topic: str, bucket_width: str, params: dict[str, Any], http: VendorHttp,
            cursor: Cursor) -> Iterator[Page]:
    span = BUCKET_SPANS[bucket_width]
    starting_at = floor_to(cursor.start(), span)
    complete_until = floor_to(datetime.now(UTC), span)
    page_token: str | None = None
    while True:
        request = {**params, "starting_at": rfc3339(starting_at)}
        if page_token:
            request["page"] = page_token
        body = http.page("GET", path, partial(_parse_report, topic), params=request)
        ends = [bucket_end for bucket_end in body["bucket_ends"] if bucket_end <= complete_until]
        yield Page(body["records"], max(ends) if ends else None)
        page_token = body["next_page"]
        if not page_token:
            return


def _parse_report(topic: str, body: Any) -> dict[str, Any]:
    records, bucket_ends = [], []
    for bucket in body["data"]:
        bounds = {"starting_at": bucket["starting_at"], "ending_at": bucket["ending_at"]}
        records.extend(conform(topic, result, **bounds) for result in bucket["results"])
        bucket_ends.append(datetime.fromisoformat(bucket["ending_at"].replace("Z", "+00:00")))
    return {"records": records, "bucket_ends": bucket_ends, "next_page": _next_page(body)}


def _parse_claude_code(day: date, body: Any) -> dict[str, Any]:
    records = [conform("raw.anthropic.claude_code", _flatten_actor(row)) for row in body["data"]]
    return {"records": records, "next_page": _next_page(body)}


def _flatten_actor(row: dict[str, Any]) -> dict[str, Any]:
    actor = row["actor"]
    return {**row, "actor": {"type": actor["type"], "email_address": actor.get("email_address"),
                             "api_key_name": actor.get("api_key_name")}}


def _entities(path: str, topic: str, http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """A full listing paged by `after_id` (keys and users are small and change in place)."""
    after_id: str | None = None
    fetched_at = datetime.now(UTC)
    while True:
        params: dict[str, Any] = {"limit": ENTITY_LIMIT}
        if after_id:
            params["after_id"] = after_id
        body = http.page("GET", path, partial(_parse_entities, topic), params=params)
        more = body["has_more"]
        yield Page(body["records"], None if more else fetched_at)
        if not more:
            return
        after_id = body["last_id"]


def _parse_entities(topic: str, body: Any) -> dict[str, Any]:
    return {"records": [conform(topic, row) for row in body["data"]], "has_more": bool(body["has_more"]),
            "last_id": body.get("last_id")}


def _next_page(body: Any) -> str | None:
    if not body["has_more"]:
        return None
    token = body["next_page"]
    if not isinstance(token, str) or not token:
        raise ValueError("has_more is true but next_page is missing")
    return token
