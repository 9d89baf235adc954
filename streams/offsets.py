"""Bounded reads: the offsets of "from here to the current end" and a consumer loop over them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

Ends = dict[tuple[str, int], int]


def offset_range(bootstrap: str, topics: Sequence[str], start: datetime | None) -> tuple[list[TopicPartition], Ends]:
    """Start offsets at `start` (None = earliest) and the current end offsets of every partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"usagemart-offsets-{uuid.uuid4().hex[:8]}"})
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
        if start is None:
            return [TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING) for tp in partitions], ends
        stamp = int(start.timestamp() * 1000)
        found = consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, stamp) for tp in partitions],
                                           timeout=10)
        # No record at or after `start`: begin at the end (nothing to re-process there).
        return [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else ends[(tp.topic, tp.partition)])
                for tp in found], ends
    finally:
        consumer.close()


def records_in_range(starts: Sequence[TopicPartition], ends: Ends) -> int:
    """How many offsets lie between the starts and the ends (an upper bound on compacted topics)."""
    return sum(ends[(tp.topic, tp.partition)] - max(tp.offset, 0) for tp in starts)


def consume_range(consumer: Consumer, starts: Sequence[TopicPartition], ends: Ends,
                  handle: Callable[[list[Message]], None], stop: threading.Event | None = None,
                  batch_size: int = 10_000, timeout: float = 0.25) -> None:
    """Feed `handle` batches from `starts` until every partition's position reaches its end."""
    pending = {(tp.topic, tp.partition) for tp in starts if max(tp.offset, 0) < ends[(tp.topic, tp.partition)]}
    if not pending:
        return
    consumer.assign([tp for tp in starts if (tp.topic, tp.partition) in pending])
    while pending and not (stop is not None and stop.is_set()):
        messages = consumer.consume(batch_size, timeout=timeout)
        if messages:
            handle(messages)
        # Positions, not the last offset seen: compaction leaves gaps at the end of a topic.
        positions = consumer.position([TopicPartition(t, p) for t, p in pending])
        pending -= {(tp.topic, tp.partition) for tp in positions if tp.offset >= ends[(tp.topic, tp.partition)]}


def group_lag(bootstrap: str, group_id: str, topics: Sequence[str]) -> int:
    """Records the consumer group has not committed yet, over every partition of `topics`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group_id, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions]
        committed = _committed(consumer, partitions)
        lag = 0
        for tp in committed:
            low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
            lag += high - (tp.offset if tp.offset >= 0 else low)
        return lag
    finally:
        consumer.close()


def _committed(consumer: Consumer, partitions: list[TopicPartition], attempts: int = 20) -> list[TopicPartition]:
    # Right after a group forms, the coordinator may still be loading ("not coordinator"): retry.
    for _ in range(attempts - 1):
        try:
            return consumer.committed(partitions, timeout=10)
        except KafkaException as error:
            if not error.args[0].retriable():
                raise
            time.sleep(0.25)
    return consumer.committed(partitions, timeout=10)
