"""The simulator's published records, normalized: per platform and day, the sums equal its ground truth.

Truth is computed from the simulator's own rows (its usage events, cost lines, Claude Code rows,
Cursor events and daily rows), independently of the raw records the normalizer reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.normalize import EVENT_TOPICS, ModelPriceBook, Normalized, normalize_batch
from streams.simulator import anthropic, cursor
from streams.simulator.world import World, day_start
from tests.streams.normalize.raw import encodes
from tests.streams.normalize.simulated import origins, raw_records

Sums = dict[tuple[str, date], dict[str, Any]]
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens")
FETCHED_AT_MS = 1_771_000_000_000


def make_world() -> World:
    return World(seed=5, start=date(2026, 1, 1), days=21, now=datetime(2026, 1, 21, 15, 30, tzinfo=UTC))


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def events(world: World) -> Normalized:
    """Every event of every event topic, as the worker would write them."""
    return normalized_world(world, FETCHED_AT_MS)


def normalized_world(world: World, fetched_at_ms: int) -> Normalized:
    every = Normalized()
    prices = ModelPriceBook.shipped()
    for topic in sorted(EVENT_TOPICS):
        records = raw_records(world, topic)
        result, errors = normalize_batch(topic, records, origins(topic, len(records), fetched_at_ms), prices)
        assert errors == []
        every.usage += result.usage
        every.costs += result.costs
    return every


def sums(events: Iterable[dict[str, Any]], fields: tuple[str, ...]) -> Sums:
    """Each field summed per (platform, usage date)."""
    totals: Sums = defaultdict(lambda: dict.fromkeys(fields, 0))
    for event in events:
        row = totals[(event["platform"], event["usage_date"])]
        for field in fields:
            row[field] += event[field]
    return dict(totals)


def money(events: Iterable[dict[str, Any]], cost_kind: str, platform: str) -> dict[date, Decimal]:
    """Amounts summed per day."""
    totals: dict[date, Decimal] = defaultdict(Decimal)
    for event in events:
        if event["cost_kind"] == cost_kind and event["platform"] == platform:
            totals[event["usage_date"]] += event["amount"]
    return dict(totals)


def truth_usage(world: World) -> Sums:
    """Tokens, requests, sessions and lines per platform and day, from the simulator's own rows."""
    truth: Sums = {}
    for day in world.dates():
        api = anthropic.usage_events(world, day)
        if api:
            truth[("anthropic_api", day)] = {
                "input_tokens": sum(event.uncached_input_tokens for event in api),
                "output_tokens": sum(event.output_tokens for event in api),
                "cache_read_tokens": sum(event.cache_read_input_tokens for event in api),
                "cache_creation_5m_tokens": sum(event.ephemeral_5m_input_tokens for event in api),
                "cache_creation_1h_tokens": sum(event.ephemeral_1h_input_tokens for event in api),
                "web_search_requests": sum(event.web_search_requests for event in api),
                "requests": 0, "sessions": 0, "lines_added": 0, "lines_removed": 0,
            }
        code = anthropic.claude_code(world, day)
        if code:
            models = [item for row in code for item in row["model_breakdown"]]
            truth[("claude_code", day)] = {
                "input_tokens": sum(item["tokens"]["input"] for item in models),
                "output_tokens": sum(item["tokens"]["output"] for item in models),
                "cache_read_tokens": sum(item["tokens"]["cache_read"] for item in models),
                "cache_creation_5m_tokens": sum(item["tokens"]["cache_creation"] for item in models),
                "cache_creation_1h_tokens": 0, "web_search_requests": 0, "requests": 0,
                "sessions": sum(row["core_metrics"]["num_sessions"] for row in code),
                "lines_added": sum(row["core_metrics"]["lines_of_code"]["added"] for row in code),
                "lines_removed": sum(row["core_metrics"]["lines_of_code"]["removed"] for row in code),
            }
        truth[("cursor", day)] = _cursor_truth(world, day)
    return truth


def _cursor_truth(world: World, day: date) -> dict[str, Any]:
    start = day_start(day) * 1000
    events = cursor.usage_events(world, start, start + 86_400_000 - 1)
    usage = [event["tokenUsage"] for event in events if "tokenUsage" in event]
    daily = cursor.daily_usage(world, start, start)
    return {
        "input_tokens": sum(item["inputTokens"] for item in usage),
        "output_tokens": sum(item["outputTokens"] for item in usage),
        "cache_read_tokens": sum(item["cacheReadTokens"] for item in usage),
        "cache_creation_5m_tokens": sum(item["cacheWriteTokens"] for item in usage),
        "cache_creation_1h_tokens": 0, "web_search_requests": 0, "sessions": 0,
        # Every request that was not an error: what the member was billed for, one way or another.
        "requests": sum(event["kind"] != cursor.KINDS[2] for event in events),
        "lines_added": sum(row["acceptedLinesAdded"] for row in daily),
        "lines_removed": sum(row["acceptedLinesDeleted"] for row in daily),
    }


def test_usage_sums_per_platform_and_day_equal_the_simulator(world: World, events: Normalized) -> None:
    fields = (*TOKENS, "web_search_requests", "requests", "sessions", "lines_added", "lines_removed")

    assert sums(events.usage, fields) == truth_usage(world)


def test_reported_costs_per_day_equal_the_cost_report_and_vendor_bills(world: World, events: Normalized) -> None:
    anthropic_truth = {day: sum(line.amount for line in anthropic.cost_lines(world, day)) / 100
                       for day in world.dates() if anthropic.cost_lines(world, day)}
    cursor_truth: dict[date, Decimal] = defaultdict(Decimal)
    for event in cursor.usage_events(world, day_start(world.start) * 1000, world.now_ts * 1000):
        if "tokenUsage" in event:
            day = datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC).date()
            cursor_truth[day] += Decimal(repr(event["tokenUsage"]["totalCents"])) / 100

    assert money(events.costs, "reported", "anthropic_api") == anthropic_truth
    assert money(events.costs, "reported", "cursor") == cursor_truth


def test_vendor_estimates_of_claude_code_per_day_equal_the_simulator(world: World, events: Normalized) -> None:
    truth = {day: sum(Decimal(repr(item["estimated_cost"]["amount"])) for row in anthropic.claude_code(world, day)
                      for item in row["model_breakdown"]) / 100
             for day in world.dates() if anthropic.claude_code(world, day)}

    assert money(events.costs, "estimated", "claude_code") == truth


def test_price_book_estimates_equal_the_billed_token_and_search_costs(world: World, events: Normalized) -> None:
    # The simulator bills list prices, and leaves the priority tier out of the cost report as the vendor does.
    estimates = money((cost for cost in events.costs if cost["service_tier"] != "priority"), "estimated",
                      "anthropic_api")
    billed = {day: sum(line.amount for line in anthropic.cost_lines(world, day)
                       if line.cost_type in ("tokens", "web_search")) / 100
              for day in world.dates()}

    assert estimates == {day: amount for day, amount in billed.items() if amount}
    assert not any("price_missing" in event["attributes"] for event in events.usage)


def test_every_event_fits_its_contract_and_has_its_own_id(events: Normalized) -> None:
    encodes(events)
    for table in (events.usage, events.costs):
        assert len({event["event_id"] for event in table}) == len(table)


def test_restated_days_converge_on_the_newest_revision() -> None:
    world = make_world()
    before = normalized_world(world, FETCHED_AT_MS)
    world.advance()
    after = normalized_world(world, FETCHED_AT_MS + 60_000)

    newest: dict[str, dict[str, Any]] = {}
    for event in [*before.usage, *after.usage]:
        if event["event_id"] not in newest or event["version"] > newest[event["event_id"]]["version"]:
            newest[event["event_id"]] = event

    fields = (*TOKENS, "web_search_requests", "requests", "sessions", "lines_added", "lines_removed")
    assert sums(newest.values(), fields) == truth_usage(world)
    assert sums(newest.values(), fields) != sums(before.usage, fields)
