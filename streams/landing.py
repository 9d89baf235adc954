"""Landing rows: every raw and reference record, as the contract decoded it, into its `raw_*` table."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from confluent_kafka import Message

LANDING_COLUMNS = ("natural_key", "record", "schema_ref", "source", "poll_run_id", "fetched_at", "kafka_topic",
                   "kafka_partition", "kafka_offset")


def landing_table(topic: str) -> str:
    """`raw.anthropic.usage` -> `raw_anthropic_usage`, `ref.catalog.plans` -> `raw_catalog_plans`."""
    _, _, rest = topic.partition(".")
    return "raw_" + rest.replace(".", "_")


def record_json(record: dict[str, Any]) -> bytes:
    """The record as UTF-8 JSON: dates `YYYY-MM-DD`, times ISO 8601 in UTC (`Z`, fractional seconds
    when there are any), decimals as text, bytes as UTF-8 text."""
    return orjson.dumps(record, default=_json_value, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class LandingBatch:
    """Landing columns per table for one consumed batch."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, list[Any]]] = defaultdict(lambda: {name: [] for name in LANDING_COLUMNS})

    def add(self, message: Message, key: str, record: dict[str, Any], headers: dict[str, bytes],
            fetched: datetime) -> None:
        """Land one decoded record; `key` is its Kafka key as text, `fetched` its `fetched_at` (see `fetched_at`)."""
        columns = self.tables[landing_table(message.topic())]
        columns["natural_key"].append(key)
        columns["record"].append(record_json(record))
        columns["schema_ref"].append(headers.get("schema", b"").decode("utf-8", "replace"))
        columns["source"].append(headers.get("source", b"").decode("utf-8", "replace"))
        columns["poll_run_id"].append(headers.get("poll_run_id", b"").decode("utf-8", "replace"))
        columns["fetched_at"].append(fetched)
        columns["kafka_topic"].append(message.topic())
        columns["kafka_partition"].append(message.partition())
        columns["kafka_offset"].append(message.offset())


def fetched_at(headers: dict[str, bytes], message: Message) -> datetime:
    """The poller's `fetched_at` header, else the Kafka timestamp."""
    raw = headers.get("fetched_at")
    if raw:
        return _instant(raw)
    return datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC)


@lru_cache(maxsize=1024)
def _instant(text: bytes) -> datetime:
    # Every record of a poller's page carries the same `fetched_at`: parse it once.
    return datetime.fromisoformat(text.decode())
