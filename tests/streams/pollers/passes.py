"""Running poll passes in tests: a shorter simulated world, short retry waits, and checking what a
pass published key by key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from schemas.contracts import natural_key
from streams.pollers.source import Source
from streams.pollers.vendor_http import RetryPolicy, VendorHttp
from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from tests.streams.pollers.conftest import Simulated
from tests.streams.topic_reader import TopicRecord
from usagemart.settings import Settings


@contextmanager
def short_world(days: int) -> Iterator[Simulated]:
    """A fresh simulator over fewer days than the `simulator` fixture, for tests that backfill many times."""
    world = World.ending_now(7, days)
    app = build_app(world)
    with serve_in_thread(app) as url:
        yield Simulated(world, url, app)


def quick_retries(source: Source) -> Source:
    """`source` with backoff short enough for tests; a vendor's `Retry-After` is still honoured."""
    def client(settings: Settings) -> VendorHttp:
        http = source.client(settings)
        http.retry = RetryPolicy(initial=0.01, maximum=2.0)
        return http

    return replace(source, client=client)


def by_key(topic: str, records: list[TopicRecord]) -> dict[str, dict[str, Any]]:
    """Decoded values by Kafka key, checking that each key is the value's natural key and that a
    key published twice was an identical re-delivery."""
    values: dict[str, dict[str, Any]] = {}
    for record in records:
        assert record.key == natural_key(topic, record.value), record.value
        assert values.setdefault(record.key, record.value) == record.value, f"{topic} {record.key}: copies differ"
    return values
