"""Hand-made raw records for the normalization tests, as `Serde.decode` returns them.

A record is its contract's sample (`tests/schemas/samples/`) with some fields changed, written
and read back through the topic's Avro serde, so every test record is a valid decoded record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemas.serde import HeaderFraming, Serde
from streams.normalize import ModelPriceBook, Normalized, NormalizeError, Origin, normalize_batch
from tests.schemas.conftest import sample

FETCHED_AT_MS = 1_772_469_003_214
"""A poll's `fetched_at`, 2026-03-02T16:30:03.214Z."""
_SERDE = Serde(HeaderFraming())


def raw(topic: str, **fields: Any) -> dict[str, Any]:
    """`topic`'s sample record with `fields` changed, decoded from its Avro bytes."""
    record = {**sample(topic), **fields}
    return _SERDE.decode(topic, _SERDE.encode(topic, record), _SERDE.headers(topic))


def origin(topic: str, offset: int = 0, fetched_at_ms: int = FETCHED_AT_MS) -> Origin:
    """Where a test record came from."""
    return Origin(topic, 0, offset, fetched_at_ms)


def normalize(topic: str, records: Sequence[dict[str, Any]], prices: ModelPriceBook | None = None,
              fetched_at_ms: int = FETCHED_AT_MS) -> Normalized:
    """The events of `records`, which must all be good."""
    result, errors = normalize_with_errors(topic, records, prices, fetched_at_ms)
    assert not errors, errors
    return result


def normalize_with_errors(topic: str, records: Sequence[dict[str, Any]], prices: ModelPriceBook | None = None,
                          fetched_at_ms: int = FETCHED_AT_MS) -> tuple[Normalized, list[tuple[int, NormalizeError]]]:
    """The events of `records` and the errors of the bad ones."""
    origins = [origin(topic, offset, fetched_at_ms) for offset in range(len(records))]
    return normalize_batch(topic, records, origins, prices or ModelPriceBook.shipped())


def encodes(normalized: Normalized) -> None:
    """Assert every event fits its contract."""
    _SERDE.encode_batch("usage.events", normalized.usage)
    _SERDE.encode_batch("cost.events", normalized.costs)
