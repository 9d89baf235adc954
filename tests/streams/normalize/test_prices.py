"""The model price book: shipped data, effective dating, lookups and ref.pricebook overrides."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from streams.normalize.prices import PRICED_UNITS, PRICES_FILE, ModelPrice, ModelPriceBook

SONNET = "claude-sonnet-4-5-20250929"
DAY = date(2026, 3, 2)


def pricebook_row(product_code: str, plan_code: str, effective_date: date, unit_price: str,
                  currency_code: str | None = None) -> dict[str, Any]:
    """A decoded ref.pricebook record."""
    return {"product_code": product_code, "plan_code": plan_code, "effective_date": effective_date,
            "unit_price": unit_price, "currency_code": currency_code, "raw_json": "{}"}


def test_every_shipped_price_names_its_source_and_the_day_it_was_read() -> None:
    with PRICES_FILE.open(newline="") as rows:
        shipped = list(csv.DictReader(rows))

    assert shipped
    for row in shipped:
        assert row["source"].startswith("https://platform.claude.com/docs/en/docs/about-claude/pricing#")
        assert date.fromisoformat(row["read_on"])
    assert {row["unit"] for row in shipped} == {unit.name for unit in PRICED_UNITS}


def test_shipped_prices_are_the_list_prices_per_million() -> None:
    prices = ModelPriceBook.shipped()

    assert prices.price(SONNET, "uncached_input_tokens", DAY) == Decimal("3")
    assert prices.price(SONNET, "output_tokens", DAY) == Decimal("15")
    assert prices.price(SONNET, "cache_read_input_tokens", DAY) == Decimal("0.30")
    assert prices.price(SONNET, "cache_creation.ephemeral_5m_input_tokens", DAY) == Decimal("3.75")
    assert prices.price(SONNET, "cache_creation.ephemeral_1h_input_tokens", DAY) == Decimal("6")
    assert prices.price("claude-opus-4-5-20251101", "output_tokens", DAY) == Decimal("25")
    assert prices.price("claude-3-5-haiku-20241022", "uncached_input_tokens", DAY) == Decimal("0.80")


def test_long_context_window_falls_back_to_the_any_window_price() -> None:
    prices = ModelPriceBook.shipped()

    assert prices.price(SONNET, "output_tokens", DAY, "200k-1M") == Decimal("22.50")
    assert prices.price(SONNET, "output_tokens", DAY, "0-200k") == Decimal("15")
    assert prices.price("claude-haiku-4-5-20251001", "output_tokens", DAY, "200k-1M") == Decimal("5")


def test_web_search_is_priced_for_any_model_and_unknown_things_are_not() -> None:
    prices = ModelPriceBook.shipped()

    assert prices.price("claude-unreleased-9", "web_search_requests", DAY) == Decimal("10000")
    assert prices.price("claude-unreleased-9", "output_tokens", DAY) is None
    assert prices.price(None, "output_tokens", DAY) is None


def test_no_price_before_the_first_effective_date() -> None:
    prices = ModelPriceBook([ModelPrice("claude-test-1", "", "output_tokens", date(2026, 3, 1), Decimal("9"))])

    assert prices.price("claude-test-1", "output_tokens", date(2026, 2, 28)) is None
    assert prices.price("claude-test-1", "output_tokens", date(2026, 3, 1)) == Decimal("9")


def test_a_ref_pricebook_record_overrides_a_model_price_from_its_effective_date() -> None:
    prices = ModelPriceBook.shipped()
    before = prices.unit_prices(SONNET, "standard", "0-200k", DAY)

    applied = prices.override([
        pricebook_row(f"anthropic:{SONNET}", "output_tokens", date(2026, 3, 2), "12.5"),
        pricebook_row(f"anthropic:{SONNET}", "output_tokens@200k-1M", date(2026, 3, 2), "20", "USD"),
        pricebook_row("API-CALLS", "PRO-ANNUAL", date(2026, 1, 1), "0.000850", "EUR"),
    ])

    assert applied == 2
    assert prices.price(SONNET, "output_tokens", date(2026, 3, 1)) == Decimal("15")
    assert prices.price(SONNET, "output_tokens", DAY) == Decimal("12.5")
    assert prices.price(SONNET, "output_tokens", DAY, "200k-1M") == Decimal("20")
    after = prices.unit_prices(SONNET, "standard", "0-200k", DAY)
    assert before[1] is not None and after[1] is not None
    assert (before[1].usd_per_unit, after[1].usd_per_unit) == (Decimal("0.000015"), Decimal("0.0000125"))
    assert after[1].usd_per_million == "12.5"


def test_an_override_on_a_shipped_date_replaces_that_price() -> None:
    prices = ModelPriceBook.shipped()

    prices.override([pricebook_row(f"anthropic:{SONNET}", "output_tokens", date(2025, 9, 29), "14")])

    assert prices.price(SONNET, "output_tokens", DAY) == Decimal("14")


@pytest.mark.parametrize("row", [
    pricebook_row(f"anthropic:{SONNET}", "output_tokens", DAY, "12.5", "EUR"),
    pricebook_row(f"anthropic:{SONNET}", "thinking_tokens", DAY, "12.5"),
    pricebook_row(f"anthropic:{SONNET}", "output_tokens", DAY, "twelve"),
    pricebook_row(f"anthropic:{SONNET}", "output_tokens", DAY, "-1"),
    pricebook_row(f"anthropic:{SONNET}", "output_tokens", DAY, "0.0000001"),
])
def test_a_malformed_model_price_is_skipped_and_logged(row: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    prices = ModelPriceBook.shipped()

    assert prices.override([row]) == 0

    assert prices.price(SONNET, "output_tokens", DAY) == Decimal("15")
    assert "not a model price, skipped" in caplog.text


def test_batch_discount_applies_to_tokens_not_to_web_search() -> None:
    prices = ModelPriceBook.shipped()

    standard = prices.unit_prices(SONNET, "standard", "0-200k", DAY)
    batch = prices.unit_prices(SONNET, "batch", "0-200k", DAY)

    assert [price.usd_per_million for price in standard if price] == ["3", "15", "0.3", "3.75", "6", "10000"]
    assert [price.usd_per_million for price in batch if price] == ["1.5", "7.5", "0.15", "1.875", "3", "10000"]
    assert batch[-1] is not None and standard[-1] is not None
    assert batch[-1].usd_per_unit == standard[-1].usd_per_unit == Decimal("0.01")
