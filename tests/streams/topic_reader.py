"""Reading a topic back independently of the code under test: every record, decoded."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from schemas.serde import HeaderFraming, Serde


@dataclass(frozen=True)
class TopicRecord:
    """One record as read back from Kafka."""

    key: str
    value: dict[str, Any]
    headers: dict[str, bytes]
    partition: int
    offset: int


def read_topic(bootstrap: str, topic: str, serde: Serde | None = None,
               run_ids: Collection[str] | None = None) -> list[TopicRecord]:
    """All records on `topic` from the beginning to the current end, in offset order per partition.

    `run_ids` keeps only the records whose `poll_run_id` header names one of those poller passes
    (the session broker is shared by every test).
    """
    serde = serde or Serde(HeaderFraming())
    wanted = None if run_ids is None else {run_id.encode() for run_id in run_ids}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records: list[TopicRecord] = []
        remaining = {p for p, end in ends.items() if end > 0}
        while remaining:
            # consume() waits out its timeout unless the whole batch arrives: short waits, many rounds.
            for message in consumer.consume(10_000, timeout=0.05):
                if message.error():
                    raise RuntimeError(str(message.error()))
                headers = dict(message.headers() or [])
                if wanted is None or headers.get("poll_run_id") in wanted:
                    value = serde.decode(topic, message.value(), message.headers())
                    records.append(TopicRecord(message.key().decode(), value, headers, message.partition(),
                                               message.offset()))
                if message.offset() + 1 >= ends[message.partition()]:
                    remaining.discard(message.partition())
        return records
    finally:
        consumer.close()
