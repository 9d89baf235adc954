"""Producing records and knowing that the broker acknowledged every one of them.

Both the pollers (a page before its checkpoint moves) and the worker (events before their batch
commits) need the same thing: queue records, waiting out a full local queue, then flush and
learn what failed. Delivery reports are served by `confirm` (and by `produce` while it waits).
"""

from __future__ import annotations

from confluent_kafka import KafkaError, Message, Producer

Headers = list[tuple[str, bytes]]


class Deliveries:
    """Records produced through one producer since the last `confirm`, and their failures."""

    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._failures: list[KafkaError] = []

    def produce(self, topic: str, value: bytes, key: bytes, headers: Headers) -> None:
        """Queue one record; while the local queue is full, serve delivery reports and retry."""
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers, on_delivery=self._delivered)
                return
            except BufferError:
                self._producer.poll(0.1)

    def confirm(self, timeout: float = 60.0) -> str | None:
        """Wait for every queued record; None when all were acknowledged, else what went wrong."""
        remaining = self._producer.flush(timeout)
        failures, self._failures = self._failures, []
        if not failures and not remaining:
            return None
        return f"{len(failures)} records failed, {remaining} unacknowledged " \
               f"(first error: {failures[0] if failures else 'timeout'})"

    def _delivered(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._failures.append(error)
