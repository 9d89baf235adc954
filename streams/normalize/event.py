"""What every normalized event is made of: its origin, its id, its counts, its money.

Choices that hold for every raw topic:
- `event_id` is the blake2b-128 hex (32 characters) of the raw topic, the record's natural key
  (the raw Kafka record's key, which the pollers set to `schemas.contracts.natural_key`; computed
  from the record the same way when a record comes without one, see `raw_key`) and a sub-key
  naming the event when one record yields several (a model, a token type). The raw topic
  stands for the source: it is more specific than the vendor, so two topics of one vendor whose
  natural keys happen to print alike never collide.
- `version` is `Origin.fetched_at_ms`: a later poll of the same natural key is a restatement and
  wins in the ReplacingMergeTree; replaying the same raw records yields the same versions.
- `source` is the vendor, the second part of the raw topic (`anthropic`, `cursor`), as the
  pollers' `source` header says.
- Counts (tokens, requests, lines) must be non-negative; a negative one is a `NormalizeError`.
- Money is `Decimal`, never float arithmetic, in the currency's major unit (dollars), quantized
  to the contracts' 12 decimal places (half-even) under a 38-digit context, the column's
  precision. Vendor numbers that arrive as floats are read through their shortest decimal text
  (`repr`), i.e. the digits the vendor's JSON carried, not the float's binary expansion.
  Reported amounts may be negative (a vendor credit is part of the bill); estimates may not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation, Overflow
from functools import lru_cache
from hashlib import blake2b
from typing import Any, NamedTuple

from schemas.contracts import contract
from streams.attribution import NOBODY, Attribution

REPORTED = "reported"
"""`cost_kind` of a vendor's bill."""
ESTIMATED = "estimated"
"""`cost_kind` of a price-book or vendor estimate; never summed with `reported`."""
SCALE = Decimal("1e-12")
"""The contracts' money scale: `amount` is Decimal(38, 12)."""
ZERO = SCALE * 0
"""No money, at the money scale."""
MONEY = Context(prec=38, traps=[InvalidOperation, Overflow])
"""Decimal arithmetic at the column's precision, whatever the thread's default context."""
_KEY_PART_MEMO = 8192
"""Distinct bucket bounds, days and timestamps remembered per key field."""

Event = dict[str, Any]
"""A `usage.events` or `cost.events` record."""
RecordKey = Callable[[Mapping[str, Any]], str]


class NormalizeError(ValueError):
    """A record that is valid Avro but not a valid event (negative tokens, unparseable amount).

    It goes to `dlq.normalize` with this message; the rest of the batch goes on.
    """


class Origin(NamedTuple):
    """Where a raw record came from (a tuple: one is built per record on the hot path)."""

    topic: str
    partition: int
    offset: int
    fetched_at_ms: int
    """The record's `fetched_at` header, epoch milliseconds: the events' version."""
    key: str | None = None
    """The record's Kafka key: its natural key as the pollers wrote it (None: computed from the record)."""


@dataclass
class Normalized:
    """The events a batch of raw records yields."""

    usage: list[Event] = field(default_factory=list)
    """`usage.events` records, attributed as far as the record alone allows."""
    costs: list[Event] = field(default_factory=list)
    """`cost.events` records, attributed likewise."""


@lru_cache(maxsize=None)
def record_key(topic: str) -> RecordKey:
    """`natural_key` for `topic`'s records, with the time and date fields' text memoized.

    The contract's own `key` does the work (so the ids follow the Kafka keys exactly); only its
    timestamp and date formatters are wrapped in a cache, because formatting a datetime costs
    more than the rest of the key and buckets and days repeat across a batch.
    """
    topic_contract = contract(topic)
    types = {item["name"]: item["type"] for item in topic_contract.definition["fields"]}
    parts = tuple((name, lru_cache(maxsize=_KEY_PART_MEMO)(text) if _is_temporal(types[name]) else text)
                  for name, text in topic_contract.key_parts)
    return dataclasses.replace(topic_contract, key_parts=parts).key


def raw_key(origin: Origin, record: Mapping[str, Any]) -> str:
    """The raw record's natural key: the Kafka key it came with, else `record_key` of the record."""
    return origin.key or record_key(origin.topic)(record)


def _is_temporal(avro_type: Any) -> bool:
    branches = avro_type if isinstance(avro_type, list) else [avro_type]
    return any(isinstance(branch, dict) and branch.get("logicalType") in ("timestamp-millis", "date")
               for branch in branches)


def event_id(topic: str, key: str, sub_key: str = "") -> str:
    """The deterministic id of the event `sub_key` of the record keyed `key` on raw `topic`."""
    return blake2b(f"{topic}\x1f{key}\x1f{sub_key}".encode(), digest_size=16).hexdigest()


def counts(record: Mapping[str, Any], names: tuple[str, ...]) -> list[int]:
    """The record's count fields `names`, all checked non-negative."""
    values = [record[name] for name in names]
    if min(values, default=0) < 0:
        bad = next(name for name, value in zip(names, values, strict=True) if value < 0)
        raise NormalizeError(f"{bad}: negative count {record[bad]}")
    return values


def count(value: int | None, name: str) -> int:
    """One optional count: None is 0, a negative value is an error."""
    if value is None:
        return 0
    if value < 0:
        raise NormalizeError(f"{name}: negative count {value}")
    return value


def decimal_text(text: str, name: str) -> Decimal:
    """A vendor's decimal string, exactly (a float's `repr` gives the digits its JSON carried)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise NormalizeError(f"{name}: not a decimal number: {text!r:.40}") from None
    if not value.is_finite():
        raise NormalizeError(f"{name}: not a finite amount: {text}")
    return value


def dollars(cents: Decimal, name: str) -> Decimal:
    """An amount in cents as dollars at the money scale."""
    try:
        return cents.scaleb(-2, MONEY).quantize(SCALE, context=MONEY)
    except InvalidOperation:
        raise NormalizeError(f"{name}: {cents} cents does not fit Decimal(38, 12) dollars") from None


def currency_code(text: str | None, default: str) -> str:
    """An ISO 4217 code, uppercase; `default` when the vendor gives none."""
    code = (text or default).upper()
    if len(code) != 3 or not code.isalpha():
        raise NormalizeError(f"currency: not an ISO 4217 code: {text!r:.40}")
    return code


def non_negative(amount: Decimal, name: str) -> Decimal:
    """`amount`, refused when negative (an estimate or a price is never below zero)."""
    if amount < 0:
        raise NormalizeError(f"{name}: negative amount {amount}")
    return amount


@lru_cache(maxsize=4096)
def midnight(day: date) -> datetime:
    """The start of a UTC day, the event time of day-grain rows."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def usage_event(
    origin: Origin, event_id: str, source: str, platform: str, event_time: datetime, usage_date: date,
    attributes: dict[str, str], *, attribution: Attribution = NOBODY, api_key_id: str | None = None,
    workspace_id: str | None = None, model: str | None = None, service_tier: str | None = None,
    context_window: str | None = None, input_tokens: int = 0, output_tokens: int = 0,
    cache_creation_5m_tokens: int = 0, cache_creation_1h_tokens: int = 0, cache_read_tokens: int = 0,
    requests: int = 0, web_search_requests: int = 0, sessions: int = 0, lines_added: int = 0, lines_removed: int = 0,
) -> Event:
    """A `usage.events` record."""
    return {
        "event_id": event_id, "version": origin.fetched_at_ms, "source": source, "platform": platform,
        "event_time": event_time, "usage_date": usage_date, "user_email": attribution.user_email,
        "attribution_method": attribution.method, "attribution_confidence": attribution.confidence,
        "api_key_id": api_key_id, "workspace_id": workspace_id, "model": model, "service_tier": service_tier,
        "context_window": context_window, "input_tokens": input_tokens, "output_tokens": output_tokens,
        "cache_creation_5m_tokens": cache_creation_5m_tokens, "cache_creation_1h_tokens": cache_creation_1h_tokens,
        "cache_read_tokens": cache_read_tokens, "requests": requests, "web_search_requests": web_search_requests,
        "sessions": sessions, "lines_added": lines_added, "lines_removed": lines_removed, "attributes": attributes,
        "raw_topic": origin.topic, "raw_partition": origin.partition, "raw_offset": origin.offset,
    }


def cost_event(
    origin: Origin, event_id: str, source: str, platform: str, cost_kind: str, event_time: datetime,
    usage_date: date, amount: Decimal, currency: str, attributes: dict[str, str], *,
    attribution: Attribution = NOBODY, api_key_id: str | None = None, workspace_id: str | None = None,
    model: str | None = None, token_type: str | None = None, cost_type: str | None = None,
    description: str | None = None, service_tier: str | None = None, context_window: str | None = None,
) -> Event:
    """A `cost.events` record; `amount` in dollars at the money scale, `currency` uppercase."""
    return {
        "event_id": event_id, "version": origin.fetched_at_ms, "source": source, "platform": platform,
        "cost_kind": cost_kind, "event_time": event_time, "usage_date": usage_date, "amount": amount,
        "currency": currency, "user_email": attribution.user_email, "attribution_method": attribution.method,
        "attribution_confidence": attribution.confidence, "api_key_id": api_key_id, "workspace_id": workspace_id,
        "model": model, "token_type": token_type, "cost_type": cost_type, "description": description,
        "service_tier": service_tier, "context_window": context_window, "attributes": attributes,
        "raw_topic": origin.topic, "raw_partition": origin.partition, "raw_offset": origin.offset,
    }
