"""What the worker's tables must hold for a simulated world, and the checks that they do.

Usage truth is the normalizer tests' `truth_usage` (the simulator's own rows, independently of
the raw records). Money truth is computed here the same way, per platform, cost kind and day:
reported amounts are the vendors' bills, estimates the vendor's Claude Code estimates and, for
the API, the list price of the billed tokens and searches (the simulator bills list prices and
leaves the priority tier out of its cost report, so priority-tier estimates have no bill to
match). Every exact check reads with FINAL, as the architecture says exact queries must.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.client import Client

from streams.landing import landing_table
from streams.simulator import anthropic, cursor
from streams.simulator.world import World, day_start
from tests.streams.normalize.test_simulated import truth_usage

USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_5m_tokens",
                "cache_creation_1h_tokens", "web_search_requests", "requests", "sessions", "lines_added",
                "lines_removed")
Money = dict[tuple[str, str, date], Decimal]
"""(platform, cost_kind, usage_date) -> amount in dollars."""


def truth_money(world: World) -> Money:
    """Each platform's reported and estimated amounts per day, from the simulator's own rows."""
    truth: Money = defaultdict(Decimal)
    for day in world.dates():
        for line in anthropic.cost_lines(world, day):
            truth[("anthropic_api", "reported", day)] += line.amount / 100
            if line.cost_type in ("tokens", "web_search"):
                truth[("anthropic_api", "estimated", day)] += line.amount / 100
        for row in anthropic.claude_code(world, day):
            for item in row["model_breakdown"]:
                truth[("claude_code", "estimated", day)] += Decimal(repr(item["estimated_cost"]["amount"])) / 100
    for event in cursor.usage_events(world, day_start(world.start) * 1000, world.now_ts * 1000):
        if "tokenUsage" in event:
            day = datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC).date()
            truth[("cursor", "reported", day)] += Decimal(repr(event["tokenUsage"]["totalCents"])) / 100
    return {key: amount for key, amount in truth.items() if amount}


def usage_sums(client: Client) -> dict[tuple[str, date], dict[str, Any]]:
    """`usage_events` FINAL summed per platform and day."""
    rows = client.query(f"SELECT platform, usage_date, {', '.join(f'sum({name})' for name in USAGE_FIELDS)} "
                        "FROM usage_events FINAL GROUP BY platform, usage_date").result_rows
    return {(platform, day): dict(zip(USAGE_FIELDS, sums, strict=True)) for platform, day, *sums in rows}


def money_sums(client: Client) -> Money:
    """`cost_events` FINAL summed per platform, cost kind and day, priority-tier API estimates aside."""
    rows = client.query(
        "SELECT platform, cost_kind, usage_date, sum(amount) FROM cost_events FINAL "
        "WHERE NOT (platform = 'anthropic_api' AND cost_kind = 'estimated' AND service_tier = 'priority') "
        "GROUP BY platform, cost_kind, usage_date HAVING sum(amount) != 0").result_rows
    return {(platform, kind, day): amount for platform, kind, day, amount in rows}


def assert_events_equal_truth(client: Client, world: World) -> None:
    """Per platform and day, tokens, requests, activity and money FINAL equal the world's, ids unique."""
    assert usage_sums(client) == truth_usage(world)
    assert money_sums(client) == truth_money(world)
    assert_unique_event_ids(client)


def assert_unique_event_ids(client: Client) -> None:
    """No two rows of an event table share an `event_id` once replacing merges are applied."""
    for table in ("usage_events", "cost_events"):
        rows, ids = client.query(f"SELECT count(), uniqExact(event_id) FROM {table} FINAL").result_rows[0]
        assert rows == ids > 0, f"{table}: {rows} rows FINAL for {ids} event ids"


def landed(client: Client, topic: str) -> int:
    """Distinct Kafka records of `topic` in its landing table (FINAL collapses redeliveries)."""
    return int(client.command(f"SELECT count() FROM {landing_table(topic)} FINAL"))
