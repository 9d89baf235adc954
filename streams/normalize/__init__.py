"""Normalization: decoded raw records -> `usage.events` and `cost.events` records, per batch.

`normalize_batch` is the whole interface the worker needs: one call per batch of one raw topic,
returning every event and the (index, `NormalizeError`) of each bad record, which goes to
`dlq.normalize` while the rest of the batch goes on. It is pure: no I/O, no clock; the
same records, origins and prices always give the same events, which is what makes replay
converge. Per-topic rules are documented in `streams.normalize.anthropic` and
`streams.normalize.cursor`, the id, version and money rules in `streams.normalize.event`,
prices in `streams.normalize.prices`, and attribution (run after normalization) in
`streams.attribution`.

Raw topics that are not in `EVENT_TOPICS` (`raw.cursor.spend`, `raw.stripe.charges`,
`raw.product.usage`, the entity and `ref.*` topics) produce no events: the batch reads them
from their landing tables, and the worker keeps the reference ones for attribution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streams.normalize import anthropic, cursor
from streams.normalize.event import Event, Normalized, NormalizeError, Origin
from streams.normalize.prices import ModelPriceBook

__all__ = ["EVENT_TOPICS", "ModelPriceBook", "NormalizeError", "Normalized", "Origin", "normalize_batch"]

RecordNormalizer = Callable[[Mapping[str, Any], Origin, ModelPriceBook, list[Event], list[Event]], None]
"""Appends one raw record's usage and cost events to the two lists, or raises."""

_NORMALIZERS: dict[str, RecordNormalizer] = {
    anthropic.USAGE_TOPIC: anthropic.usage,
    anthropic.COST_TOPIC: anthropic.cost,
    anthropic.CLAUDE_CODE_TOPIC: anthropic.claude_code,
    cursor.DAILY_TOPIC: cursor.daily_usage,
    cursor.EVENTS_TOPIC: cursor.usage_events,
}
EVENT_TOPICS = frozenset(_NORMALIZERS)
"""The raw topics whose records become events."""

# Records passed Avro validation, so a failure here is a value the rules refuse or a shape no
# rule foresaw: either way one bad record, for the DLQ, not a reason to stop the stream.
_RECORD_FAILURES = (ValueError, ArithmeticError, LookupError, TypeError, AttributeError)


def normalize_batch(topic: str, records: Sequence[Mapping[str, Any]], origins: Sequence[Origin],
                    prices: ModelPriceBook) -> tuple[Normalized, list[tuple[int, NormalizeError]]]:
    """The events of a batch of `topic`'s decoded records, and the bad records' errors by index.

    `origins[i]` is where `records[i]` came from. A bad record contributes no event at all.
    """
    normalize = _NORMALIZERS.get(topic)
    if normalize is None:
        raise ValueError(f"{topic} yields no events; event topics: {', '.join(sorted(EVENT_TOPICS))}")
    if len(records) != len(origins):
        raise ValueError(f"{len(records)} records but {len(origins)} origins")
    normalized = Normalized()
    usage, costs = normalized.usage, normalized.costs
    errors: list[tuple[int, NormalizeError]] = []
    for index, record in enumerate(records):
        usage_mark, costs_mark = len(usage), len(costs)
        try:
            normalize(record, origins[index], prices, usage, costs)
        except _RECORD_FAILURES as error:
            del usage[usage_mark:], costs[costs_mark:]
            errors.append((index, error if isinstance(error, NormalizeError)
                           else NormalizeError(f"{type(error).__name__}: {error}")))
    return normalized, errors
