"""What every source module declares, and the loop that runs it.

A source is a `Source`: an HTTP client factory and a list of `Resource`s. A resource is a small
generator of `Page`s over an explicit `Cursor`; each page is published, and only then is the
resource's checkpoint moved to the page's `cursor_value`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.progress import Progress

from schemas.serde import Serde
from streams.pollers.checkpoint import CheckpointStore, Cursor
from streams.pollers.publisher import Publisher
from streams.pollers.vendor_http import VendorHttp
from usagemart.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Page:
    """Records fetched together, and where the cursor stands once they are published."""

    records: list[dict[str, Any]]
    cursor_value: datetime | None = None


@dataclass(frozen=True)
class Resource:
    """One endpoint feeding one topic."""

    name: str
    topic: str
    pages: Callable[[VendorHttp, Cursor], Iterator[Page]]
    lookback: timedelta = timedelta(days=30)
    """How far back a first run starts."""
    restatement: timedelta = timedelta(0)
    """Trailing window re-read on every run, where the vendor restates recent data."""


@dataclass(frozen=True)
class Source:
    """A vendor: how to reach it, what to read, how often."""

    name: str
    client: Callable[[Settings], VendorHttp]
    resources: Callable[[Settings], list[Resource]]
    cadence: timedelta = timedelta(minutes=1)


@dataclass
class PollResult:
    """What one pass did, per resource."""

    poll_run_id: str
    records: dict[str, int] = field(default_factory=dict)
    requests: int = 0


def poll_once(source: Source, settings: Settings, since: datetime | None = None,
              progress: Progress | None = None) -> PollResult:
    """One pass over every resource of `source`; `since` backfills from that instant.

    Re-running a backfill with the same `since` resumes each resource from its checkpoint.
    """
    result = PollResult(poll_run_id=uuid.uuid4().hex)
    marks = {"poll_run_id": result.poll_run_id, **({"since": since.isoformat()} if since else {})}
    store = CheckpointStore(settings.home / "checkpoints", source.name)
    http = source.client(settings)
    publisher = Publisher(settings.bootstrap_servers, Serde.from_settings(settings), source.name, result.poll_run_id)
    try:
        for resource in source.resources(settings):
            cursor = _cursor(resource, store, since)
            result.records[resource.name] = _run_resource(resource, http, cursor, publisher, store, marks,
                                                          progress)
    finally:
        result.requests = http.requests_made
        http.close()
        publisher.close()
    return result


def _cursor(resource: Resource, store: CheckpointStore, since: datetime | None) -> Cursor:
    last_value = store.last_value(resource.name)
    if since is None:
        return Cursor(initial_value=datetime.now(UTC) - resource.lookback, last_value=last_value,
                      lag=resource.restatement)
    # A killed backfill re-run as is resumes; a backfill from another instant starts over there.
    resumes = store.get(resource.name).get("since") == since.isoformat()
    return Cursor(initial_value=since, last_value=last_value if resumes else None, lag=resource.restatement)


def _run_resource(resource: Resource, http: VendorHttp, cursor: Cursor, publisher: Publisher,
                  store: CheckpointStore, marks: dict[str, str], progress: Progress | None) -> int:
    start, end = cursor.start(), datetime.now(UTC)
    task = progress.add_task(resource.name, total=max((end - start).total_seconds(), 1.0)) if progress else None
    published = 0
    for page in resource.pages(http, cursor):
        published += publisher.publish(resource.topic, page.records)
        if page.cursor_value is not None:
            store.save(resource.name, page.cursor_value, **marks)
            if progress is not None and task is not None:
                progress.update(task, completed=(page.cursor_value - start).total_seconds())
    if progress is not None and task is not None:
        progress.update(task, completed=progress.tasks[task].total)
    logger.info("%s: %d records published", resource.name, published)
    return published


def poll_forever(source: Source, settings: Settings) -> None:
    """Poll at the source's cadence until interrupted; a failed pass is logged and retried next time."""
    while True:
        started = time.monotonic()
        try:
            result = poll_once(source, settings)
            logger.info("%s pass %s: %s", source.name, result.poll_run_id, result.records)
        except Exception:  # noqa: BLE001 - a continuous poller outlives one bad pass; the checkpoint did not move
            logger.exception("%s pass failed; retrying at the next cadence", source.name)
        time.sleep(max(0.0, source.cadence.total_seconds() - (time.monotonic() - started)))
