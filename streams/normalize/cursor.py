"""Cursor raw records -> events (platform `cursor`): daily usage and usage events.

The two feeds describe the same activity at two grains, so each metric comes from one of them
only and per-day sums never count anything twice:
- **requests and lines come from the daily rows** (`raw.cursor.daily_usage`), one usage event
  per member x day. `requests` = `subscriptionIncludedReqs + usageBasedReqs + apiKeyReqs`:
  every model request once, split by how it was paid (the mode counts composer, chat and agent
  partition the same requests; Cmd-K, Bugbot and Tab are separate features). `lines_added` /
  `lines_removed` = the *accepted* lines, what the member kept (comparable to Claude Code's
  lines); `isActive`, the totals, mode counts, tabs, applies, most-used model and client
  version go to `attributes`. Rows of inactive days are kept (all zeros) so a restatement
  to inactive overwrites the earlier row. The day is the vendor's `day` when sent, else the UTC
  date of `date`.
- **tokens and money come from the usage events** (`raw.cursor.usage_events`), one usage event
  per vendor event with its tokens (`cacheWriteTokens` -> `cache_creation_5m_tokens`: no TTL is
  given and 5 minutes is the default) and `requests` 0, the event's `kind`, `maxMode`,
  `isTokenBasedCall` and `requestsCosts` (request units) in `attributes`. When the
  event has `tokenUsage`, a `cost_kind='reported'` cost event: `totalCents` is fractional
  CENTS, converted to dollars in USD (Cursor bills in US dollars); `kind` tells included usage
  from usage-based.
`attributes` keep the vendor's field names, values as text. Both feeds carry the member's
email, lowercased (Cursor keeps addresses as typed, mixed case included): `direct_email` 1.0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.attribution import DIRECT_EMAIL, Attribution
from streams.normalize.event import (
    REPORTED, Event, Origin, cost_event, count, counts, decimal_text, dollars, event_id, midnight, raw_key,
    usage_event,
)
from streams.normalize.prices import ModelPriceBook

DAILY_TOPIC = "raw.cursor.daily_usage"
EVENTS_TOPIC = "raw.cursor.usage_events"
SOURCE = "cursor"
PLATFORM = "cursor"
CURRENCY = "USD"

_DAILY_COUNTS = ("subscriptionIncludedReqs", "usageBasedReqs", "apiKeyReqs", "acceptedLinesAdded",
                 "acceptedLinesDeleted")
_DAILY_ATTRIBUTES = (
    "totalLinesAdded", "totalLinesDeleted", "composerRequests", "chatRequests", "agentRequests", "cmdkUsages",
    "bugbotUsages", "totalApplies", "totalAccepts", "totalRejects", "totalTabsShown", "totalTabsAccepted",
    "mostUsedModel", "applyMostUsedExtension", "tabMostUsedExtension", "clientVersion", "userId",
)
_DAILY_FLAGS = ("isActive",)
_EVENT_ATTRIBUTES = ("kind", "requestsCosts")
_EVENT_FLAGS = ("maxMode", "isTokenBasedCall")


def daily_usage(record: Mapping[str, Any], origin: Origin, prices: ModelPriceBook, usage_out: list[Event],
                costs_out: list[Event]) -> None:
    """A member's day: requests and accepted lines."""
    included, usage_based, api_key, added, removed = counts(record, _DAILY_COUNTS)
    day = record["day"] or record["date"].date()
    usage_out.append(usage_event(
        origin, event_id(DAILY_TOPIC, raw_key(origin, record)), SOURCE, PLATFORM, midnight(day), day,
        _attributes(record, _DAILY_ATTRIBUTES, _DAILY_FLAGS), attribution=_member(record["email"]),
        requests=included + usage_based + api_key, lines_added=added, lines_removed=removed,
    ))


def usage_events(record: Mapping[str, Any], origin: Origin, prices: ModelPriceBook, usage_out: list[Event],
                 costs_out: list[Event]) -> None:
    """One vendor usage event: its tokens, and its reported cost when it has token usage."""
    key = raw_key(origin, record)
    at = record["timestamp"]
    day = at.date()
    attribution = _member(record["userEmail"])
    model = record["model"]
    attributes = _attributes(record, _EVENT_ATTRIBUTES, _EVENT_FLAGS)
    usage_out.append(usage_event(
        origin, event_id(EVENTS_TOPIC, key), SOURCE, PLATFORM, at, day, attributes, attribution=attribution,
        model=model, input_tokens=count(record["tokenUsage_inputTokens"], "tokenUsage.inputTokens"),
        output_tokens=count(record["tokenUsage_outputTokens"], "tokenUsage.outputTokens"),
        cache_creation_5m_tokens=count(record["tokenUsage_cacheWriteTokens"], "tokenUsage.cacheWriteTokens"),
        cache_read_tokens=count(record["tokenUsage_cacheReadTokens"], "tokenUsage.cacheReadTokens"),
    ))
    if record["tokenUsage_totalCents"] is not None:
        cents = repr(record["tokenUsage_totalCents"])
        costs_out.append(cost_event(
            origin, event_id(EVENTS_TOPIC, key, REPORTED), SOURCE, PLATFORM, REPORTED, at, day,
            dollars(decimal_text(cents, "tokenUsage.totalCents"), "tokenUsage.totalCents"), CURRENCY,
            {**attributes, "vendor_amount_cents": cents}, attribution=attribution, model=model, cost_type="tokens",
        ))


def _member(email: str) -> Attribution:
    return Attribution(email.lower(), DIRECT_EMAIL, 1.0)


def _attributes(record: Mapping[str, Any], names: tuple[str, ...], flags: tuple[str, ...]) -> dict[str, str]:
    """The fields `names` and the booleans `flags` that are set, as text (Avro map values are strings)."""
    attributes = {name: str(record[name]) for name in names if record[name] is not None}
    for flag in flags:
        if record[flag] is not None:
            attributes[flag] = "true" if record[flag] else "false"
    return attributes
