"""Cursor daily usage and usage events -> events, with hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.streams.normalize.raw import encodes, normalize, raw

DAILY = "raw.cursor.daily_usage"
EVENTS = "raw.cursor.usage_events"


def test_daily_row_counts_billed_requests_and_accepted_lines() -> None:
    normalized = normalize(DAILY, [raw(DAILY, email="Dana.Lee@Example.com")])

    (event,) = normalized.usage
    # subscriptionIncludedReqs 41 + usageBasedReqs 4 + apiKeyReqs 0 (= composer 14 + chat 9 + agent 22).
    assert event["requests"] == 45
    assert (event["lines_added"], event["lines_removed"]) == (1480, 402)
    assert event["input_tokens"] == 0 and event["model"] is None
    assert (event["user_email"], event["attribution_method"], event["attribution_confidence"]) == (
        "dana.lee@example.com", "direct_email", 1.0)
    assert (event["platform"], event["source"]) == ("cursor", "cursor")
    assert (event["event_time"], event["usage_date"]) == (datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2))
    assert event["attributes"]["totalLinesAdded"] == "2145"
    assert event["attributes"]["isActive"] == "true"
    assert event["attributes"]["mostUsedModel"] == "claude-4.5-sonnet"
    assert normalized.costs == []
    encodes(normalized)


def test_daily_row_without_the_newer_day_uses_the_date() -> None:
    (event,) = normalize(DAILY, [raw(DAILY, day=None, date=datetime(2026, 3, 5, tzinfo=UTC))]).usage

    assert event["usage_date"] == date(2026, 3, 5)


def test_usage_event_carries_tokens_and_its_reported_cost_in_dollars() -> None:
    normalized = normalize(EVENTS, [raw(EVENTS, userEmail="Dana.Lee@Example.com")])

    (usage,) = normalized.usage
    assert (usage["input_tokens"], usage["output_tokens"], usage["cache_creation_5m_tokens"],
            usage["cache_read_tokens"]) == (41230, 2875, 8800, 122400)
    assert usage["requests"] == 0
    assert usage["attributes"] == {"kind": "Included in Business", "maxMode": "false", "isTokenBasedCall": "true",
                                   "requestsCosts": "2.0"}
    assert usage["event_time"] == datetime(2026, 3, 2, 14, 37, 12, 481000, tzinfo=UTC)
    (cost,) = normalized.costs
    assert cost["amount"] == Decimal("0.23447125")   # 23.447125 cents
    assert (cost["cost_kind"], cost["currency"], cost["model"]) == ("reported", "USD", "claude-4.5-sonnet-thinking")
    assert cost["attributes"]["vendor_amount_cents"] == "23.447125"
    for event in (usage, cost):
        assert (event["user_email"], event["attribution_method"]) == ("dana.lee@example.com", "direct_email")
    encodes(normalized)


def test_usage_event_without_token_usage_has_no_cost() -> None:
    record = raw(EVENTS, isTokenBasedCall=False, tokenUsage_inputTokens=None, tokenUsage_outputTokens=None,
                 tokenUsage_cacheWriteTokens=None, tokenUsage_cacheReadTokens=None, tokenUsage_totalCents=None)

    normalized = normalize(EVENTS, [record])

    (usage,) = normalized.usage
    assert (usage["input_tokens"], usage["output_tokens"], usage["cache_read_tokens"]) == (0, 0, 0)
    assert normalized.costs == []


def test_exact_repeats_stay_distinct_events() -> None:
    normalized = normalize(EVENTS, [raw(EVENTS, ordinal=0), raw(EVENTS, ordinal=1)])

    assert len({event["event_id"] for event in normalized.usage}) == 2
    assert len({event["event_id"] for event in normalized.costs}) == 2
