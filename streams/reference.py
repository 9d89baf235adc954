"""What attribution and pricing know now: keys, users, members, mappings, model price overrides.

One `ReferenceState` per process, fed record by record from the reference topics (by the
worker's reference agent, or by `load` reading the compacted topics to their end).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, Message

from schemas.serde import DecodeError, Serde
from streams.attribution import DictReferenceData
from streams.normalize.prices import ModelPriceBook
from streams.offsets import consume_range, offset_range

REFERENCE_TOPICS = ("raw.anthropic.api_keys", "raw.anthropic.users", "raw.cursor.members", "ref.api_key_mappings",
                    "ref.pricebook")


@dataclass
class ReferenceState:
    """The lookup the hot path attributes with, and the model price book it estimates with."""

    lookup: DictReferenceData = field(default_factory=DictReferenceData)
    prices: ModelPriceBook = field(default_factory=ModelPriceBook.shipped)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Current `ref.pricebook` rows by key: a tombstone retracts one, so prices are rebuilt from them."""

    def apply(self, topic: str, key: str | None, record: dict[str, Any] | None) -> None:
        """Apply one decoded reference record (None: a tombstone)."""
        if topic != "ref.pricebook":
            self.lookup.update(topic, key, record)
            return
        if record is None:
            self.overrides.pop(key or "", None)
            prices = ModelPriceBook.shipped()
            prices.override(self.overrides.values())
            self.prices = prices
        else:
            self.overrides[key or ""] = record
            self.prices.override([record])

    def apply_message(self, serde: Serde, message: Message) -> None:
        """Decode and apply one reference message; undecodable ones are left to the ingest DLQ."""
        value = message.value()
        try:
            record = None if value is None else serde.decode(message.topic(), value, message.headers())
        except DecodeError:
            return
        key = message.key()
        self.apply(message.topic(), key.decode() if key is not None else None, record)


def load(bootstrap: str, serde: Serde) -> ReferenceState:
    """The current reference state, read from the compacted reference topics to their end."""
    state = ReferenceState()
    starts, ends = offset_range(bootstrap, REFERENCE_TOPICS, None)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"usagemart-reference-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False})
    try:
        consume_range(consumer, starts, ends,
                      lambda messages: [state.apply_message(serde, m) for m in messages if not m.error()])
    finally:
        consumer.close()
    return state
