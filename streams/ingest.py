"""The hot path: raw topics -> landing tables, normalized events -> ClickHouse and event topics.

Everything is per batch (consume up to `batch_size` records, decode, normalize, attribute, write
to ClickHouse), because per-record Python work is what limits a stream processor. One batch, top
to bottom, in `process`:

    decode -> land -> normalize -> attribute -> encode events -+-> write ClickHouse ----+-> commit
                                                               +-> produce events/DLQ --+

Avro encoding of the events is the largest cost per record, so it is done once: the same bytes
go to the event topics and, as an Avro container, into the event tables. A second thread
encodes and produces while this one writes the landing rows (the inserts leave the interpreter
free while they wait for the server). Offsets are committed only after the rows are in
ClickHouse and the produced records are acknowledged; a ClickHouse outage pauses the
partitions and retries (nothing is committed), so a crash at any point redelivers the batch,
and the `event_id`-keyed tables absorb it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from schemas.contracts import contract
from schemas.serde import DecodeError, EncodeError, Serde
from streams.attribution import ReferenceData, attribute
from streams.dead_letters import DeadLetters
from streams.delivery import Deliveries
from streams.landing import LandingBatch, fetched_at
from streams.metrics import BATCH_SIZE, CONSUMER_LAG, EVENTS_WRITTEN, RECORDS_CONSUMED
from streams.normalize import EVENT_TOPICS, Normalized, Origin, normalize_batch
from streams.normalize.prices import ModelPriceBook
from streams.offsets import Ends, consume_range
from streams.sink import AvroContainer, ClickHouseSink
from streams.topics import CATALOG

logger = logging.getLogger(__name__)

INGESTED_TOPICS = tuple(name for name in CATALOG if name.startswith(("raw.", "ref.")))
EVENT_TOPIC_TABLES = {"usage.events": "usage_events", "cost.events": "cost_events"}
"""Normalized event topic -> the table its events go to."""
SESSION_TIMEOUT = 10.0
"""Seconds before the group gives a silent member's partitions away. A worker killed and restarted
waits this long for its own dead member to expire (librdkafka's default is 45 s), and heartbeats
come from librdkafka's own thread, so a busy batch never makes a live worker look dead."""


@dataclass
class BatchResult:
    """What one batch did."""

    consumed: int = 0
    landed: int = 0
    usage_events: int = 0
    cost_events: int = 0
    dead_letters: int = 0


@dataclass
class _Decoded:
    """One topic's decodable messages of a batch, with their keys (text), headers, records and fetch times."""

    messages: list[Message] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    headers: list[dict[str, bytes]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    fetched: list[datetime] = field(default_factory=list)

    def add(self, message: Message, headers: dict[str, bytes], record: dict[str, Any], fetched: datetime) -> None:
        self.messages.append(message)
        self.keys.append((message.key() or b"").decode("utf-8", "replace"))
        self.headers.append(headers)
        self.records.append(record)
        self.fetched.append(fetched)


@dataclass
class RawIngestor:
    """Consumes raw and reference topics in batches and writes what they mean."""

    bootstrap: str
    serde: Serde
    sink: ClickHouseSink
    reference: ReferenceData
    prices: Callable[[], ModelPriceBook]
    group_id: str = "usagemart-worker"
    topics: Sequence[str] = INGESTED_TOPICS
    batch_size: int = 10_000
    batch_timeout: float = 0.25
    produce_events: bool = True
    table_suffix: str = ""
    """Write to `<table><suffix>` instead (replay --rebuild fills shadow tables)."""
    stop_event: threading.Event = field(default_factory=threading.Event)
    totals: BatchResult = field(default_factory=BatchResult)

    def __post_init__(self) -> None:
        self._consumer = Consumer({
            "bootstrap.servers": self.bootstrap, "group.id": self.group_id, "enable.auto.commit": False,
            "auto.offset.reset": "earliest", "enable.partition.eof": False,
            "fetch.max.bytes": 64 * 1024 * 1024, "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "queued.max.messages.kbytes": 256 * 1024, "statistics.interval.ms": 5000,
            "stats_cb": _record_lag, "session.timeout.ms": int(SESSION_TIMEOUT * 1000),
            # Several workers split the raw topics' partitions evenly (range would give one of two
            # workers 2 of each topic's 3); range stays listed so a rolling upgrade can agree.
            "partition.assignment.strategy": "roundrobin,range",
        })
        # Delivery reports for failures only: one Python callback per acknowledged event is a cost
        # of its own, and `_produce` only needs to know what failed.
        self._producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
                                   "compression.type": "zstd", "linger.ms": 5, "batch.size": 1_048_576,
                                   "delivery.report.only.error": True})
        self._deliveries = Deliveries(self._producer)
        self._producing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="produce")
        self._containers = {topic: AvroContainer(contract(topic).schema) for topic in EVENT_TOPIC_TABLES}

    def run(self) -> None:
        """Consume until `stop_event` is set; a permanent failure raises (offsets not committed)."""
        self._consumer.subscribe(list(self.topics))
        logger.info("ingesting %d topics as group %s", len(self.topics), self.group_id)
        try:
            while not self.stop_event.is_set():
                messages = self._consumer.consume(self.batch_size, timeout=self.batch_timeout)
                if messages:
                    self.process(messages)
        finally:
            self.close()

    def run_range(self, starts: Sequence[TopicPartition], ends: Ends,
                  on_batch: Callable[[BatchResult], None] | None = None) -> None:
        """Process the given partitions from their start offsets up to `ends`, then return."""

        def handle(messages: list[Message]) -> None:
            result = self.process(messages)
            if on_batch is not None:
                on_batch(result)

        try:
            consume_range(self._consumer, starts, ends, handle, self.stop_event, self.batch_size, self.batch_timeout)
        finally:
            self.close()

    def close(self) -> None:
        """Leave the group and flush what was produced."""
        self._consumer.close()
        self._producing.shutdown()
        self._producer.flush(30)

    def process(self, messages: Sequence[Message]) -> BatchResult:
        """Handle one consumed batch completely, then commit its offsets."""
        result = BatchResult(consumed=len(messages))
        landing, dead, events = LandingBatch(), DeadLetters(), Normalized([], [])
        for topic, batch in _by_topic(messages, dead).items():
            decoded = self._decode(topic, batch, dead)
            for row in zip(decoded.messages, decoded.keys, decoded.records, decoded.headers, decoded.fetched,
                           strict=True):
                landing.add(*row)
            if topic in EVENT_TOPICS and decoded.records:
                self._normalize(topic, decoded, events, dead)
        attribute(events.usage, self.reference)
        attribute(events.costs, self.reference)
        # One thread, in order: encode the events, then produce them and the dead letters.
        encoded = self._producing.submit(self._encode_events, events)
        produced = self._producing.submit(self._produce, encoded, events, dead)
        result.landed = sum(self._write(table, columns) for table, columns in landing.tables.items())
        values = encoded.result()
        result.usage_events = self._write_events("usage.events", values["usage.events"])
        result.cost_events = self._write_events("cost.events", values["cost.events"])
        result.dead_letters = self._write("dlq_records", dead.columns)
        produced.result()
        self._commit(messages)
        self._account(messages, result)
        logger.info("batch committed", extra={"consumed": result.consumed, "landed": result.landed,
                                              "usage_events": result.usage_events, "cost_events": result.cost_events,
                                              "dead_letters": result.dead_letters})
        return result

    def _decode(self, topic: str, batch: list[Message], dead: DeadLetters) -> _Decoded:
        """The decodable messages of one topic; the others go to the DLQ."""
        headers = [dict(message.headers() or ()) for message in batch]
        records = self.serde.decode_batch(topic, [message.value() for message in batch], headers)
        decoded = _Decoded()
        for message, record_headers, record in zip(batch, headers, records, strict=True):
            if isinstance(record, DecodeError):
                dead.add("decode", message, str(record))
                continue
            try:
                fetched = fetched_at(record_headers, message)
            except ValueError as error:
                dead.add("decode", message, f"{topic}: fetched_at header: {error}")
                continue
            decoded.add(message, record_headers, record, fetched)
        return decoded

    def _normalize(self, topic: str, decoded: _Decoded, events: Normalized, dead: DeadLetters) -> None:
        origins = [Origin(topic, message.partition(), message.offset(), int(at.timestamp() * 1000), key or None)
                   for message, key, at in zip(decoded.messages, decoded.keys, decoded.fetched, strict=True)]
        normalized, errors = normalize_batch(topic, decoded.records, origins, self.prices())
        events.usage.extend(normalized.usage)
        events.costs.extend(normalized.costs)
        for index, error in errors:
            dead.add("normalize", decoded.messages[index], str(error))

    def _write(self, table: str, columns: dict[str, list[Any]]) -> int:
        return self.sink.write(table + self.table_suffix, columns, while_waiting=self._wait_paused)

    def _write_events(self, topic: str, values: list[bytes]) -> int:
        prefix = len(self.serde.framing.prefix(topic))
        bodies = [value[prefix:] for value in values] if prefix else values
        return self.sink.write_avro(EVENT_TOPIC_TABLES[topic] + self.table_suffix, self._containers[topic], bodies,
                                    while_waiting=self._wait_paused)

    def _wait_paused(self, seconds: float) -> None:
        # Keep the group membership alive while ClickHouse is away; paused partitions fetch nothing.
        assignment = self._consumer.assignment()
        self._consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stop_event.is_set():
            self._consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
        self._consumer.resume(assignment)

    def _encode_events(self, events: Normalized) -> dict[str, list[bytes]]:
        return {"usage.events": self._encode("usage.events", events.usage),
                "cost.events": self._encode("cost.events", events.costs)}

    def _produce(self, encoded: Future[dict[str, list[bytes]]], events: Normalized, dead: DeadLetters) -> None:
        batches: list[tuple[str, list[dict[str, Any]], list[bytes], Callable[[dict[str, Any]], bytes]]] = [
            (topic, letters, self._encode(topic, letters), _source_key) for topic, letters in dead.records.items()]
        if self.produce_events:
            values = encoded.result()
            batches += [(topic, records, values[topic], _event_key)
                        for topic, records in (("usage.events", events.usage), ("cost.events", events.costs))]
        for topic, records, topic_values, key in batches:
            headers = self.serde.headers(topic)
            for record, value in zip(records, topic_values, strict=True):
                self._deliveries.produce(topic, value, key(record), headers)
        problem = self._deliveries.confirm()
        if problem:
            raise RuntimeError(f"produced events and dead letters: {problem}")

    def _encode(self, topic: str, records: list[dict[str, Any]]) -> list[bytes]:
        if not records:
            return []
        try:
            return self.serde.encode_batch(topic, records)
        except EncodeError as error:
            raise RuntimeError(f"a normalized record does not fit its contract: {error}") from error

    def _commit(self, messages: Sequence[Message]) -> None:
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            if not message.error():
                last[(message.topic(), message.partition())] = message.offset()
        if last:
            self._consumer.commit(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()],
                                  asynchronous=False)

    def _account(self, messages: Sequence[Message], result: BatchResult) -> None:
        BATCH_SIZE.observe(len(messages))
        for topic, count in _counts(messages).items():
            RECORDS_CONSUMED.labels(topic).inc(count)
        EVENTS_WRITTEN.labels("usage").inc(result.usage_events)
        EVENTS_WRITTEN.labels("cost").inc(result.cost_events)
        for name in ("consumed", "landed", "usage_events", "cost_events", "dead_letters"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(result, name))


def _by_topic(messages: Iterable[Message], dead: DeadLetters) -> dict[str, list[Message]]:
    grouped: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                logger.warning("consumer error: %s", error)
            continue
        if message.value() is None:
            continue  # a tombstone on a compacted topic: nothing to land
        grouped[message.topic()].append(message)
    return grouped


def _event_key(event: dict[str, Any]) -> bytes:
    return event["event_id"].encode()  # type: ignore[no-any-return]


def _source_key(letter: dict[str, Any]) -> bytes:
    return f"{letter['source_topic']}:{letter['source_partition']}:{letter['source_offset']}".encode()


def _counts(messages: Iterable[Message]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for message in messages:
        counts[message.topic()] += 1
    return counts


def _record_lag(stats_json: str) -> None:
    stats = json.loads(stats_json)
    for topic, topic_stats in stats.get("topics", {}).items():
        for partition, partition_stats in topic_stats.get("partitions", {}).items():
            lag = partition_stats.get("consumer_lag", -1)
            if partition != "-1" and lag >= 0:
                CONSUMER_LAG.labels(topic, partition).set(lag)
