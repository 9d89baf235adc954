"""The simulator's world as the worker receives it: vendor rows -> contract records -> Avro -> decoded.

Rows come from the simulator's ground-truth functions and become records through
`schemas.conform.conform`, as the pollers do (`streams/pollers/anthropic.py`: report results
with their bucket bounds, Claude Code rows as returned; `streams/pollers/cursor.py`: the member
id as text, usage events with the ordinal that numbers exact repeats). Records then go through the topic's Avro serde, so the normalizer
sees exactly what `Serde.decode` returns. Used by the ground-truth tests and `bench/normalize.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from schemas.conform import conform
from schemas.serde import HeaderFraming, Serde
from streams.normalize import Origin
from streams.pollers.anthropic import GROUP_BY
from streams.simulator import anthropic, cursor
from streams.simulator.world import World, day_start

COST_GROUP_BY = ("workspace_id", "description")
Record = dict[str, Any]


def raw_records(world: World, topic: str) -> list[Record]:
    """Every record the pollers would publish to `topic` for the whole world, decoded."""
    serde = Serde(HeaderFraming())
    headers = serde.headers(topic)
    return [serde.decode(topic, value, headers) for value in serde.encode_batch(topic, list(_conformed(world, topic)))]


def origins(topic: str, count: int, fetched_at_ms: int, first_offset: int = 0) -> list[Origin]:
    """Origins of `count` records read in one poll from partition 0."""
    return [Origin(topic, 0, first_offset + offset, fetched_at_ms) for offset in range(count)]


def _conformed(world: World, topic: str) -> Iterator[Record]:
    start = day_start(world.start)
    if topic == "raw.anthropic.usage":
        for width in ("1d", "1h"):
            yield from _buckets(topic, anthropic.usage_report(world, width, start, None, GROUP_BY))
    elif topic == "raw.anthropic.cost":
        yield from _buckets(topic, anthropic.cost_report(world, start, None, COST_GROUP_BY))
    elif topic == "raw.anthropic.claude_code":
        yield from (conform(topic, row) for day in world.dates() for row in anthropic.claude_code(world, day))
    elif topic == "raw.cursor.daily_usage":
        for row in cursor.daily_usage(world, start * 1000, world.now_ts * 1000):
            # The vendor sends userId as a number; the contract keeps it as text.
            yield conform(topic, row, userId=str(row["userId"]))
    elif topic == "raw.cursor.usage_events":
        yield from _numbered(topic, cursor.usage_events(world, start * 1000, world.now_ts * 1000))
    else:
        raise ValueError(f"no simulated records for {topic}")


def _buckets(topic: str, buckets: Sequence[dict[str, Any]]) -> Iterator[Record]:
    for bucket in buckets:
        bounds = {"starting_at": bucket["starting_at"], "ending_at": bucket["ending_at"]}
        yield from (conform(topic, result, **bounds) for result in bucket["results"])


def _numbered(topic: str, events: Sequence[dict[str, Any]]) -> Iterator[Record]:
    seen: dict[tuple[Any, ...], int] = {}
    for event in events:
        identity = (event["timestamp"], event["userEmail"], event.get("model"), event.get("kind"))
        ordinal = seen[identity] = seen.get(identity, -1) + 1
        yield conform(topic, event, ordinal=ordinal)
