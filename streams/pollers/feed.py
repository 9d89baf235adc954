"""Reading an `updated_since` feed, the shape of the project's own APIs (SOURCES.md): rows oldest
change first from an inclusive `updated_since`, paged by `next_cursor`.

A published page moves the resource's checkpoint to the newest change time it held; every run
re-reads the source's trailing restatement window for rows restated late.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

from schemas.conform import conform
from streams.pollers.checkpoint import Cursor
from streams.pollers.source import Page, Resource
from streams.pollers.utc import rfc3339
from streams.pollers.vendor_http import VendorHttp

PAGE_LIMIT = 1000
ENTITY_LOOKBACK = timedelta(days=10 * 365)
"""How far back a first run reads an entity feed (funnels, customers, ...): an entity changed long
ago is still current, so its whole history is read once."""


def feed_resource(name: str, path: str, topic: str, time_field: str, restatement: timedelta,
                  lookback: timedelta = timedelta(days=30)) -> Resource:
    """The resource reading the feed at `path` into `topic`; `time_field` is the change time its cursor follows."""
    return Resource(name, topic, partial(read_feed, path, topic, time_field), lookback=lookback,
                    restatement=restatement)


def read_feed(path: str, topic: str, time_field: str, http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
    """The feed's rows changed since the cursor, oldest change first."""
    # `updated_since` is inclusive, so restarting at a page's newest change re-reads the rows
    # sharing that instant that the next, unpublished page held.
    since = rfc3339(cursor.start())
    page_token: str | None = None
    while True:
        params: dict[str, Any] = {"updated_since": since, "limit": PAGE_LIMIT}
        if page_token:
            params["cursor"] = page_token
        body = http.page("GET", path, partial(_parse_page, topic, time_field, page_token), params=params)
        yield Page(body["records"], body["changed_to"])
        page_token = body["next_cursor"]
        if not page_token:
            return


def _parse_page(topic: str, time_field: str, requested: str | None, body: Any) -> dict[str, Any]:
    records = [conform(topic, row) for row in body["data"]]
    next_cursor = body["next_cursor"]
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise TypeError(f"next_cursor: expected a string, got {type(next_cursor).__name__}")
    if next_cursor and next_cursor == requested:
        raise ValueError("next_cursor did not move: the page repeats the previous one")
    return {"records": records, "next_cursor": next_cursor,
            "changed_to": max((record[time_field] for record in records), default=None)}
