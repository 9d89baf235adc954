"""Anthropic usage report, cost report and Claude Code records -> events, with hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from streams.normalize import ModelPriceBook
from streams.normalize.prices import ModelPrice
from tests.streams.normalize.raw import encodes, normalize, raw

USAGE = "raw.anthropic.usage"
COST = "raw.anthropic.cost"
CODE = "raw.anthropic.claude_code"
DAY_START = datetime(2026, 3, 2, tzinfo=UTC)
SONNET = "claude-sonnet-4-5-20250929"
EVERY_TOKEN = {
    "uncached_input_tokens": 123_457, "output_tokens": 54_321, "cache_read_input_tokens": 1_000_003,
    "cache_creation_ephemeral_5m_input_tokens": 20_001, "cache_creation_ephemeral_1h_input_tokens": 3_333,
    "server_tool_use_web_search_requests": 7,
}


def day_bucket(start: datetime = DAY_START, **fields: Any) -> dict[str, Any]:
    """A 1d usage-report row using every token type."""
    return raw(USAGE, starting_at=start, ending_at=start + timedelta(days=1), **{**EVERY_TOKEN, **fields})


def amounts(costs: list[dict[str, Any]]) -> dict[str | None, Decimal]:
    """Estimated amounts by token type (web search under its cost type)."""
    return {cost["token_type"] or cost["cost_type"]: cost["amount"] for cost in costs}


def test_a_day_bucket_yields_its_usage_event() -> None:
    (event,) = normalize(USAGE, [day_bucket()]).usage

    assert event["platform"] == "anthropic_api" and event["source"] == "anthropic"
    assert (event["event_time"], event["usage_date"]) == (DAY_START, date(2026, 3, 2))
    assert (event["input_tokens"], event["output_tokens"], event["cache_read_tokens"],
            event["cache_creation_5m_tokens"], event["cache_creation_1h_tokens"],
            event["web_search_requests"]) == (123_457, 54_321, 1_000_003, 20_001, 3_333, 7)
    assert (event["api_key_id"], event["model"], event["service_tier"], event["context_window"]) == (
        "apikey_01Rj2N8SVvo6BePZj99NhmiT", SONNET, "standard", "0-200k")
    assert event["attributes"] == {"inference_geo": "us"}
    assert (event["attribution_method"], event["attribution_confidence"], event["user_email"]) == (
        "unattributed", 0.0, None)
    assert (event["raw_topic"], event["raw_partition"], event["raw_offset"]) == (USAGE, 0, 0)


def test_every_token_type_is_estimated_at_list_price() -> None:
    normalized = normalize(USAGE, [day_bucket()])

    # Sonnet 4.5, USD per MTok: input 3, output 15, cache read 0.30, 5m write 3.75, 1h write 6; search $10/1000.
    assert amounts(normalized.costs) == {
        "uncached_input_tokens": Decimal("0.370371"),            # 123,457 x 3 / 1e6
        "output_tokens": Decimal("0.814815"),                    # 54,321 x 15 / 1e6
        "cache_read_input_tokens": Decimal("0.3000009"),         # 1,000,003 x 0.30 / 1e6
        "cache_creation.ephemeral_5m_input_tokens": Decimal("0.07500375"),  # 20,001 x 3.75 / 1e6
        "cache_creation.ephemeral_1h_input_tokens": Decimal("0.019998"),    # 3,333 x 6 / 1e6
        "web_search": Decimal("0.07"),                           # 7 x 10 / 1000
    }
    for cost in normalized.costs:
        assert cost["cost_kind"] == "estimated" and cost["currency"] == "USD"
        assert cost["amount"].as_tuple().exponent == -12
        assert cost["attributes"]["estimator"] == "pricebook"
        assert (cost["api_key_id"], cost["model"], cost["usage_date"]) == (
            "apikey_01Rj2N8SVvo6BePZj99NhmiT", SONNET, date(2026, 3, 2))
    assert {cost["cost_type"] for cost in normalized.costs} == {"tokens", "web_search"}
    assert "price_missing" not in normalized.usage[0]["attributes"]
    encodes(normalized)


def test_estimates_use_the_price_in_effect_on_the_usage_day() -> None:
    change = date(2026, 3, 1)
    units = ("uncached_input_tokens", "output_tokens", "cache_read_input_tokens",
             "cache_creation.ephemeral_5m_input_tokens", "cache_creation.ephemeral_1h_input_tokens")
    old, new = ("2", "10", "0.2", "2.5", "4"), ("1.5", "7.5", "0.15", "1.875", "3")
    prices = ModelPriceBook([
        *(ModelPrice("claude-test-1", "", unit, date(2025, 1, 1), Decimal(price)) for unit, price in zip(units, old)),
        *(ModelPrice("claude-test-1", "", unit, change, Decimal(price)) for unit, price in zip(units, new)),
    ])
    rows = [day_bucket(datetime(2026, 2, 28, tzinfo=UTC), model="claude-test-1", server_tool_use_web_search_requests=0),
            day_bucket(datetime(2026, 3, 1, tzinfo=UTC), model="claude-test-1", server_tool_use_web_search_requests=0)]

    normalized = normalize(USAGE, rows, prices)

    before = amounts([cost for cost in normalized.costs if cost["usage_date"] == date(2026, 2, 28)])
    after = amounts([cost for cost in normalized.costs if cost["usage_date"] == change])
    assert before == {
        "uncached_input_tokens": Decimal("0.246914"),            # 123,457 x 2 / 1e6
        "output_tokens": Decimal("0.54321"),                     # 54,321 x 10 / 1e6
        "cache_read_input_tokens": Decimal("0.2000006"),         # 1,000,003 x 0.2 / 1e6
        "cache_creation.ephemeral_5m_input_tokens": Decimal("0.0500025"),   # 20,001 x 2.5 / 1e6
        "cache_creation.ephemeral_1h_input_tokens": Decimal("0.013332"),    # 3,333 x 4 / 1e6
    }
    assert after == {
        "uncached_input_tokens": Decimal("0.1851855"),           # 123,457 x 1.5 / 1e6
        "output_tokens": Decimal("0.40740750"),                  # 54,321 x 7.5 / 1e6
        "cache_read_input_tokens": Decimal("0.15000045"),        # 1,000,003 x 0.15 / 1e6
        "cache_creation.ephemeral_5m_input_tokens": Decimal("0.037501875"),  # 20,001 x 1.875 / 1e6
        "cache_creation.ephemeral_1h_input_tokens": Decimal("0.009999"),     # 3,333 x 3 / 1e6
    }


def test_batch_tier_halves_token_prices_but_not_web_search() -> None:
    normalized = normalize(USAGE, [day_bucket(service_tier="batch")])

    estimated = amounts(normalized.costs)
    assert estimated["uncached_input_tokens"] == Decimal("0.1851855")   # 123,457 x 1.50 / 1e6
    assert estimated["output_tokens"] == Decimal("0.4074075")           # 54,321 x 7.50 / 1e6
    assert estimated["web_search"] == Decimal("0.07")


def test_long_context_rows_use_long_context_prices() -> None:
    normalized = normalize(USAGE, [day_bucket(context_window="200k-1M")])

    estimated = amounts(normalized.costs)
    assert estimated["uncached_input_tokens"] == Decimal("0.740742")    # 123,457 x 6 / 1e6
    assert estimated["output_tokens"] == Decimal("1.22222250")          # 54,321 x 22.50 / 1e6
    assert estimated["cache_read_input_tokens"] == Decimal("0.6000018")  # 1,000,003 x 0.60 / 1e6


def test_an_unpriced_model_keeps_its_usage_and_says_so() -> None:
    normalized = normalize(USAGE, [day_bucket(model="claude-unreleased-9")])

    (event,) = normalized.usage
    assert event["input_tokens"] == 123_457
    assert event["attributes"]["price_missing"] == "1"
    # Web search is priced for every model; the tokens are not priced.
    assert [cost["cost_type"] for cost in normalized.costs] == ["web_search"]


def test_units_without_tokens_get_no_estimate() -> None:
    normalized = normalize(USAGE, [day_bucket(cache_creation_ephemeral_1h_input_tokens=0,
                                              server_tool_use_web_search_requests=0)])

    assert set(amounts(normalized.costs)) == {"uncached_input_tokens", "output_tokens", "cache_read_input_tokens",
                                              "cache_creation.ephemeral_5m_input_tokens"}


@pytest.mark.parametrize("width", [timedelta(hours=1), timedelta(minutes=1)])
def test_intraday_buckets_are_skipped(width: timedelta) -> None:
    normalized = normalize(USAGE, [raw(USAGE, starting_at=DAY_START, ending_at=DAY_START + width)])

    assert normalized.usage == [] and normalized.costs == []


def test_cost_report_cents_become_dollars() -> None:
    rows = [raw(COST, amount="5526.99"), raw(COST, amount="0.000123", description="Web Search"),
            raw(COST, amount="-150", description="Credit", currency="usd")]

    normalized = normalize(COST, rows)

    assert [cost["amount"] for cost in normalized.costs] == [
        Decimal("55.2699"), Decimal("0.00000123"), Decimal("-1.5")]
    first = normalized.costs[0]
    assert (first["cost_kind"], first["currency"], first["platform"]) == ("reported", "USD", "anthropic_api")
    assert first["attributes"] == {"vendor_amount_cents": "5526.99"}
    assert (first["token_type"], first["cost_type"], first["workspace_id"]) == (
        "uncached_input_tokens", "tokens", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ")
    assert (first["event_time"], first["usage_date"]) == (datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2))
    assert normalized.costs[2]["currency"] == "USD"
    assert {cost["attribution_method"] for cost in normalized.costs} == {"unattributed"}
    assert normalized.usage == []
    encodes(normalized)


def test_claude_code_row_yields_activity_and_per_model_events() -> None:
    normalized = normalize(CODE, [raw(CODE, actor_email_address="Dana.Lee@Example.com")])

    activity, sonnet, haiku = normalized.usage
    assert activity["model"] is None
    assert (activity["sessions"], activity["lines_added"], activity["lines_removed"]) == (6, 1432, 387)
    assert activity["input_tokens"] == 0
    assert activity["attributes"]["commits"] == "5" and activity["attributes"]["edit_tool_accepted"] == "41"
    assert (sonnet["model"], sonnet["input_tokens"], sonnet["output_tokens"], sonnet["cache_read_tokens"],
            sonnet["cache_creation_5m_tokens"], sonnet["sessions"]) == (SONNET, 92311, 28110, 1120400, 61200, 0)
    assert haiku["model"] == "claude-haiku-4-5-20251001"
    for event in normalized.usage:
        assert event["platform"] == "claude_code"
        assert (event["user_email"], event["attribution_method"], event["attribution_confidence"]) == (
            "dana.lee@example.com", "direct_email", 1.0)
        assert (event["event_time"], event["usage_date"]) == (datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2))
    encodes(normalized)


def test_claude_code_estimated_cost_is_cents_to_dollars() -> None:
    normalized = normalize(CODE, [raw(CODE)])

    assert [(cost["model"], cost["amount"]) for cost in normalized.costs] == [
        (SONNET, Decimal("10.225")),                            # 1022.5 cents
        ("claude-haiku-4-5-20251001", Decimal("0.029095")),     # 2.9095 cents
    ]
    for cost in normalized.costs:
        assert (cost["cost_kind"], cost["currency"], cost["attributes"]["estimator"]) == ("estimated", "USD", "vendor")
    assert normalized.costs[1]["attributes"]["vendor_amount_cents"] == "2.9095"


def test_claude_code_api_actor_is_left_for_attribution_by_key_name() -> None:
    record = raw(CODE, actor_type="api_actor", actor_email_address=None, actor_api_key_name="ci-bot")

    normalized = normalize(CODE, [record])

    for event in [*normalized.usage, *normalized.costs]:
        assert (event["user_email"], event["attribution_method"]) == (None, "unattributed")
        assert event["attributes"]["api_key_name"] == "ci-bot"


def test_a_model_listed_twice_in_a_row_is_counted_twice() -> None:
    breakdown = sample_breakdown()
    record = raw(CODE, model_breakdown=[breakdown, breakdown])

    normalized = normalize(CODE, [record])

    ids = [event["event_id"] for event in normalized.usage]
    assert len(ids) == len(set(ids)) == 3
    assert sum(event["input_tokens"] for event in normalized.usage) == 2 * breakdown["tokens_input"]


def sample_breakdown() -> dict[str, Any]:
    """The Claude Code sample's first model breakdown."""
    first: dict[str, Any] = raw(CODE)["model_breakdown"][0]
    return first
