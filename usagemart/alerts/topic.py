"""The `alerts` topic for one evaluation: what was sent (read-committed, to the end) and publishing, in a transaction.

The producer's `transactional.id` is per warehouse (`usagemart-alerts.<database>`): opening the
topic fences any other evaluator of the same warehouse and resolves its open transaction, so
what `sent` reads next is final, and two evaluations never both publish a crossing.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from schemas.contracts import natural_key
from schemas.serde import DecodeError, Serde
from streams.offsets import consume_range, offset_range
from streams.topics import ensure_topics
from usagemart.settings import Settings

TOPIC = "alerts"
TIMEOUT = 30.0
"""Seconds any one Kafka step (fencing, reading to the end, committing) may take."""


class AlertError(RuntimeError):
    """The alerts topic could not be read or published to; nothing of this evaluation was recorded."""


class AlertsTopic:
    """The `alerts` topic, opened for one evaluation (a context manager)."""

    def __init__(self, settings: Settings) -> None:
        self._bootstrap = settings.bootstrap_servers
        self._serde = Serde.from_settings(settings)
        self._producer = Producer({
            "bootstrap.servers": self._bootstrap,
            "transactional.id": f"usagemart-alerts.{settings.clickhouse.database}",
            "acks": "all", "enable.idempotence": True, "transaction.timeout.ms": int(TIMEOUT * 1000),
        })

    def __enter__(self) -> AlertsTopic:
        try:
            ensure_topics(self._bootstrap, [TOPIC], timeout=TIMEOUT)
            self._producer.init_transactions(TIMEOUT)
        except KafkaException as error:
            raise AlertError(f"alerts topic at {self._bootstrap}: {_reason(error)}") from error
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._producer.flush(TIMEOUT)

    def sent(self) -> dict[str, dict[str, Any]]:
        """Every committed alert on the topic, by `alert_id`."""
        alerts: dict[str, dict[str, Any]] = {}

        def keep(messages: list[Message]) -> None:
            for message in messages:
                if message.error() is not None:
                    raise KafkaException(message.error())
                alert = self._decode(message)
                alerts[alert["alert_id"]] = alert

        consumer = Consumer({"bootstrap.servers": self._bootstrap, "group.id": f"usagemart-alerts-{uuid.uuid4().hex}",
                             "enable.auto.commit": False, "isolation.level": "read_committed"})
        timed_out = threading.Event()
        timer = threading.Timer(TIMEOUT, timed_out.set)
        timer.start()
        try:
            starts, ends = offset_range(self._bootstrap, [TOPIC], None)
            consume_range(consumer, starts, ends, keep, timed_out)
        except KafkaException as error:
            raise AlertError(f"reading {TOPIC} at {self._bootstrap}: {_reason(error)}") from error
        finally:
            timer.cancel()
            consumer.close()
        if timed_out.is_set():
            raise AlertError(f"reading {TOPIC} at {self._bootstrap}: not at its end after {TIMEOUT:.0f}s")
        return alerts

    def publish(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Publish `alerts` keyed by `alert_id`, all or none: return once the transaction committed."""
        if not alerts:
            return
        headers: list[tuple[str, str | bytes | None]] = [("source", b"alerts"), *self._serde.headers(TOPIC)]
        try:
            self._producer.begin_transaction()
            for alert, value in zip(alerts, self._serde.encode_batch(TOPIC, alerts), strict=True):
                self._producer.produce(TOPIC, value, natural_key(TOPIC, alert).encode(), headers=headers)
            self._producer.commit_transaction(TIMEOUT)
        except KafkaException as error:
            self._abort()
            raise AlertError(f"publishing {len(alerts)} alerts to {self._bootstrap}: {_reason(error)}") from error

    def _decode(self, message: Message) -> dict[str, Any]:
        # Only evaluations write the topic: a record they cannot read back is a bug to stop on, not to skip.
        value = message.value()
        if value is None:
            raise AlertError(f"{TOPIC} offset {message.offset()}: a tombstone, but alerts sent are never retracted")
        try:
            return self._serde.decode(TOPIC, value, message.headers())
        except DecodeError as error:
            raise AlertError(f"{TOPIC} offset {message.offset()}: {error}") from error

    def _abort(self) -> None:
        try:
            self._producer.abort_transaction(TIMEOUT)
        except KafkaException:
            pass  # fenced or broker gone: the broker aborts the open transaction on its timeout


def _reason(error: KafkaException) -> str:
    first = error.args[0] if error.args else error
    return first.str() if isinstance(first, KafkaError) else str(first)
