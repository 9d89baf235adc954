"""1% poison among a world's valid records: each bad one in the DLQ with its reason and bytes, the rest intact.

Poison of two stages on every event topic: bytes that are no record of the topic (garbage, no
writer-schema header, another topic's schema, an unknown version) or a `fetched_at` header that
is no time fail `decode`; valid Avro that no event can come from (negative counts, an amount
that is no number) fails `normalize`.
Half of it goes before the valid records and half after, so batches mix both.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import KafkaError, Message, Producer

from schemas.contracts import natural_key
from schemas.serde import HeaderFraming, Serde
from streams.normalize import EVENT_TOPICS
from streams.simulator.world import World
from tests.streams.normalize.simulated import raw_records
from tests.streams.topic_reader import read_topic
from tests.streams.worker.backlog import publish_world
from tests.streams.worker.ground_truth import assert_events_equal_truth, landed
from tests.streams.worker.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

SERDE = Serde(HeaderFraming())
COPIES = 6
"""Poison made of this many records per topic, six kinds each: about 1% of the world's records."""
Record = dict[str, Any]
Coordinates = tuple[str, int, int]
"""(topic, partition, offset)"""


@dataclass(frozen=True)
class Poison:
    """A bad Kafka record and what the worker must say about it."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    stage: str
    reason: str
    """A part of the expected error."""


NONSENSE: dict[str, Callable[[Record], Record]] = {
    "raw.anthropic.usage": lambda record: {**record, "output_tokens": -5},
    "raw.anthropic.cost": lambda record: {**record, "amount": "12,50"},
    "raw.anthropic.claude_code": lambda record: {**record, "core_metrics_num_sessions": -1},
    "raw.cursor.daily_usage": lambda record: {**record, "acceptedLinesAdded": -3},
    "raw.cursor.usage_events": lambda record: {**record, "tokenUsage_inputTokens": -7},
}
"""Per topic, a valid record made into one the normalizer refuses."""
REASONS = {"raw.anthropic.cost": "not a decimal number"}
"""The normalizer's words for it, where not a negative count."""


def poison_of(topic: str, record: Record, copy: int) -> list[Poison]:
    """The six kinds of poison made from one valid record of `topic`."""
    headers = [("source", topic.split(".")[1].encode()), ("poll_run_id", b"poison"),
               ("fetched_at", datetime.now(UTC).isoformat().encode())]
    schema = SERDE.headers(topic)
    key = natural_key(topic, record).encode()
    value = SERDE.encode(topic, record)
    foreign = next(other for other in sorted(EVENT_TOPICS) if other != topic)
    return [
        Poison(topic, key, b"\x00\xffnot avro %d" % copy, [*headers, *schema], "decode", "not a valid record"),
        Poison(topic, key, value, headers, "decode", "no 'schema' header"),
        Poison(topic, key, SERDE.encode(foreign, raw_records_of(foreign)[copy]), [*headers, *SERDE.headers(foreign)],
               "decode", f"does not name a {topic} schema"),
        Poison(topic, key, value, [*headers, ("schema", f"{topic}/v9".encode())], "decode", "unknown to this reader"),
        Poison(topic, key, value, [*headers[:2], ("fetched_at", b"yesterday"), *schema], "decode",
               "fetched_at header"),
        Poison(topic, key, SERDE.encode(topic, NONSENSE[topic](record)), [*headers, *schema], "normalize",
               REASONS.get(topic, "negative count")),
    ]


@cache
def raw_records_of(topic: str) -> list[Record]:
    """Some valid records of `topic` (a small world's)."""
    world = World(seed=9, start=date(2026, 1, 1), days=3)
    return [record for record in raw_records(world, topic) if is_event_source(topic, record)]


def is_event_source(topic: str, record: Record) -> bool:
    """False for the usage report's intraday buckets, which the normalizer skips before any check."""
    return topic != "raw.anthropic.usage" or record["ending_at"] - record["starting_at"] == timedelta(days=1)


def produce(bootstrap: str, poison: list[Poison]) -> dict[Coordinates, Poison]:
    """Produce the poison; where each one landed."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    placed: dict[Coordinates, Poison] = {}
    failures: list[KafkaError] = []

    def delivered(item: Poison) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(error)
            else:
                placed[(message.topic(), message.partition(), message.offset())] = item
        return report

    for item in poison:
        producer.produce(item.topic, item.value, item.key, headers=item.headers, on_delivery=delivered(item))
    assert producer.flush(30) == 0 and not failures, failures
    return placed


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=6, start=date(2026, 1, 1), days=30)


@pytest.fixture(scope="module")
def run(broker: str, worker: WorkerProcess, world: World) -> tuple[dict[str, int], dict[Coordinates, Poison]]:
    """The valid records sandwiched between two halves of poison, 1% of all; consumed by the worker."""
    poison = [item for topic in sorted(EVENT_TOPICS) for copy in range(COPIES)
              for item in poison_of(topic, raw_records_of(topic)[copy], copy)]
    placed = produce(broker, poison[::2])
    counts = publish_world(broker, world)
    placed |= produce(broker, poison[1::2])
    assert 0.008 < len(placed) / (len(placed) + sum(counts.values())) < 0.012
    worker.start()
    worker.wait_caught_up()
    return counts, placed


def test_every_poison_record_is_in_the_dlq_table_with_its_reason_and_bytes(
        run: tuple[dict[str, int], dict[Coordinates, Poison]], client: Client) -> None:
    _, placed = run
    rows = client.query("SELECT source_topic, source_partition, source_offset, stage, error, original_key, "
                        "original_value FROM dlq_records FINAL").result_rows

    assert {(topic, partition, offset) for topic, partition, offset, *_ in rows} == set(placed)
    for topic, partition, offset, stage, error, key, value in rows:
        item = placed[(topic, partition, offset)]
        assert (stage, key, base64.b64decode(value)) == (item.stage, item.key.decode(), item.value)
        assert item.reason in error


def test_every_poison_record_is_on_its_stage_topic(run: tuple[dict[str, int], dict[Coordinates, Poison]],
                                                   broker: str) -> None:
    _, placed = run
    dead = [record.value for stage in ("decode", "normalize") for record in read_topic(broker, f"dlq.{stage}")]

    assert {(letter["source_topic"], letter["source_partition"], letter["source_offset"]) for letter in dead} \
        == set(placed)
    for letter in dead:
        item = placed[(letter["source_topic"], letter["source_partition"], letter["source_offset"])]
        assert (letter["stage"], letter["key"], letter["value"]) == (item.stage, item.key, item.value)
        assert [(header["key"], header["value"]) for header in letter["headers"]] == item.headers
        assert item.reason in letter["error"]


def test_everything_valid_is_present(run: tuple[dict[str, int], dict[Coordinates, Poison]], client: Client,
                                     world: World, worker: WorkerProcess) -> None:
    counts, placed = run
    decodable = {topic: sum(1 for (placed_topic, _, _), item in placed.items()
                            if placed_topic == topic and item.stage != "decode") for topic in counts}

    assert {topic: landed(client, topic) for topic in counts} == {topic: counts[topic] + decodable[topic]
                                                                  for topic in counts}
    assert_events_equal_truth(client, world)
    assert worker.metric("usagemart_dlq_records_total") == len(placed)
