"""Publishing pages to raw topics: idempotent, `acks=all`, batched, compressed, all-or-raise.

`publish` returns only when every record of the page is acknowledged by the broker; any
delivery failure raises, so the caller never advances a checkpoint past an unacknowledged page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from schemas.contracts import natural_key
from schemas.serde import Serde
from streams.delivery import Deliveries

logger = logging.getLogger(__name__)

PRODUCER_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.size": 1_048_576,
    "queue.buffering.max.messages": 1_000_000,
}


class PublishError(RuntimeError):
    """Some records of a page were not acknowledged by the broker."""


class Publisher:
    """Produces a page of records to its topic and waits for every acknowledgement."""

    def __init__(self, bootstrap: str, serde: Serde, source: str, poll_run_id: str) -> None:
        self._producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})
        self._deliveries = Deliveries(self._producer)
        self._serde = serde
        self._source = source.encode()
        self._run_id = poll_run_id.encode()
        self.published = 0

    def publish(self, topic: str, records: Sequence[dict[str, Any]], fetched_at: datetime | None = None) -> int:
        """Publish `records` keyed by their natural key; return the count once all are acknowledged."""
        if not records:
            return 0
        values = self._serde.encode_batch(topic, records)
        keys = [natural_key(topic, record) for record in records]
        headers = [("source", self._source), ("poll_run_id", self._run_id),
                   ("fetched_at", (fetched_at or datetime.now(UTC)).isoformat().encode()),
                   *self._serde.headers(topic)]
        for key, value in zip(keys, values, strict=True):
            self._deliveries.produce(topic, value, key.encode(), headers)
        problem = self._deliveries.confirm()
        if problem:
            raise PublishError(f"{topic}: {problem}")
        self.published += len(records)
        return len(records)

    def close(self) -> None:
        self._producer.flush(60)
