"""Running poll passes in tests: a shorter simulated world, short retry waits, and checking what a
pass published key by key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import httpx

from schemas.contracts import natural_key
from streams.pollers.source import PollResult, Source, poll_once
from streams.pollers.vendor_http import RetryPolicy, VendorHttp
from streams.simulator.feed import FeedApi
from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from tests.streams.pollers.conftest import Simulated
from tests.streams.topic_reader import TopicRecord, read_topic
from usagemart.settings import Settings

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


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



def assert_feed_published(api: FeedApi, resource: str, world: World, bootstrap: str, run_ids: set[str],
                          since: datetime | None = None) -> None:
    """The passes `run_ids` published to `raw.<api>.<resource>` exactly the simulator's rows changed since
    `since` (all rows when None), key by key, with their values and the whole vendor row kept."""
    topic = f"raw.{api.name}.{resource}"
    truth = api.feed(world, resource).since(None if since is None else int(since.timestamp()))
    expected = {natural_key(topic, _typed(row)): row for row in truth}
    published = by_key(topic, read_topic(bootstrap, topic, run_ids=run_ids))
    assert published.keys() == expected.keys(), topic
    for key, row in expected.items():
        assert {name: published[key][name] for name in row} == _typed(row), (topic, key)
        assert json.loads(published[key]["raw_json"]) == row, (topic, key)


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    """A vendor row with its RFC 3339 times as datetimes, as the contract decodes them."""
    return {name: datetime.fromisoformat(value.replace("Z", "+00:00"))
            if isinstance(value, str) and _RFC3339.fullmatch(value) else value for name, value in row.items()}


def poll_under_faults(source: Source, simulator: Simulated, settings: Settings, rule: dict[str, Any],
                      paths: list[str]) -> PollResult:
    """A full backfill with `rule` injected on each of `paths`; asserts every rule fired as often as set."""
    rules = [{**rule, "path": path} for path in paths]
    httpx.post(f"{simulator.url}/_sim/faults", json={"rules": rules}).raise_for_status()
    result = poll_once(source, settings, since=simulator.first_day)
    fired = [fault["fired"] for fault in httpx.get(f"{simulator.url}/_sim/faults").json()["rules"]]
    assert fired == [rule["times"]] * len(paths)
    return result


Expected = dict[str, Callable[[dict[str, Any]], dict[str, Any]]]


def assert_published_exactly(truth: dict[str, dict[str, dict[str, Any]]], expected: Expected, bootstrap: str,
                             run_id: str) -> None:
    """The pass published exactly `truth` (topic -> key -> vendor row): keys, field values and raw rows."""
    for topic, rows in truth.items():
        values = by_key(topic, read_topic(bootstrap, topic, run_ids={run_id}))
        assert values.keys() == rows.keys(), topic
        for key, row in rows.items():
            fields = expected[topic](row)
            assert {name: values[key][name] for name in fields} == fields, (topic, key)
            assert row.items() <= json.loads(values[key]["raw_json"]).items(), (topic, key)
