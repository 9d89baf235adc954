"""The model price book: Anthropic list prices per model and unit, effective-dated.

Units are the cost report's token types (`uncached_input_tokens`, `output_tokens`,
`cache_read_input_tokens`, `cache_creation.ephemeral_5m_input_tokens`,
`cache_creation.ephemeral_1h_input_tokens`) plus `web_search_requests`. Every price is in
**USD per million units** (per MTok for tokens, per million searches for web search: the
pricing page's "$10 per 1,000 searches" is 10000), exactly as written, as a `Decimal`.

The shipped data, `model_prices.csv` next to this module, holds the standard-tier list prices of
Anthropic's public pricing page (the `source` column names the page and section, `read_on` the
day it was read). Columns: `model`, `context_window` (empty for any window, `200k-1M` for the
long-context prices of the models that have them), `unit`, `effective_date`,
`usd_per_million` (at most 5 decimal places, so that every per-unit price is exact at the
money scale), `source`, `read_on`. A model's first row is effective from the snapshot date
in its id (the tool version date for web search); a later price is a new row with a later
`effective_date`, so history keeps its old price. `*` as the model prices a unit for every model.

Lookup of (model, unit, context window, day): the row with the latest `effective_date` not
after the day, for the exact window first, then for any window, then for any model. No row ->
no price (the normalizer keeps the usage and marks it `price_missing`).

Service tiers, applied by `unit_prices`, not stored: `batch` is 50% of the list price on every
token unit (the page's Batch API discount, which stacks with the caching multipliers); web
search is not discounted. `priority` is estimated at list price: the cost report leaves
priority-tier costs out, so the events' `service_tier` lets readers tell them apart.

Overrides come from `ref.pricebook`, the same compacted topic as the product price book: a row
whose `product_code` is `anthropic:<model>` (or `anthropic:*`) and whose `plan_code` is
`<unit>` or `<unit>@<context_window>` sets that unit's price from `effective_date` on, with
`unit_price` in USD per million units (`currency_code` null or `USD`). It replaces a shipped
row with the same date or adds a new effective-dated price. Other products are not model
prices and are skipped; a malformed model price row is logged and skipped. A retracted
override (tombstone) is applied by rebuilding: `ModelPriceBook.shipped()` then `override()`
with the rows still current.
"""

from __future__ import annotations

import bisect
import csv
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)

PRICES_FILE = Path(__file__).with_name("model_prices.csv")
ANY_MODEL = "*"
ANY_WINDOW = ""
OVERRIDE_PREFIX = "anthropic:"
WINDOW_SEPARATOR = "@"
PRICE_CURRENCY = "USD"
BATCH_TIER = "batch"
BATCH_FACTOR = Decimal("0.5")
PRICE_PLACES = 5
"""Decimal places a price per million units may have: per unit, batch-discounted, it stays within 12."""
_PER_MILLION = -6
_SCALE = Decimal("1e-12")
_PRICE_STEP = Decimal(1).scaleb(-PRICE_PLACES)


class PricedUnit(NamedTuple):
    """A unit the price book prices, as the cost report names it."""

    name: str
    cost_type: str
    """The cost report's `cost_type` for it."""
    token_type: str | None
    """The cost report's `token_type` (None for web search)."""
    tier_discounted: bool
    """Whether the batch tier discount applies."""


TOKEN_UNITS = (
    PricedUnit("uncached_input_tokens", "tokens", "uncached_input_tokens", True),
    PricedUnit("output_tokens", "tokens", "output_tokens", True),
    PricedUnit("cache_read_input_tokens", "tokens", "cache_read_input_tokens", True),
    PricedUnit("cache_creation.ephemeral_5m_input_tokens", "tokens", "cache_creation.ephemeral_5m_input_tokens", True),
    PricedUnit("cache_creation.ephemeral_1h_input_tokens", "tokens", "cache_creation.ephemeral_1h_input_tokens", True),
)
WEB_SEARCH = PricedUnit("web_search_requests", "web_search", None, False)
PRICED_UNITS = (*TOKEN_UNITS, WEB_SEARCH)
"""Every priced unit, in the order `unit_prices` answers."""
_UNIT_NAMES = frozenset(unit.name for unit in PRICED_UNITS)


@dataclass(frozen=True)
class ModelPrice:
    """One effective-dated price."""

    model: str
    context_window: str
    unit: str
    effective_date: date
    usd_per_million: Decimal


class UnitPrice(NamedTuple):
    """What one unit of a usage row costs, ready to multiply."""

    unit: PricedUnit
    usd_per_unit: Decimal
    """Per token (per search), tier discount applied, exact at 12 decimal places: quantity x this
    is the amount at the money scale, with no rounding."""
    usd_per_million: str
    """The same, per million units, as text for the event's attributes."""


PriceKey = tuple[str | None, str, str]
"""(model, context_window, unit)."""
RowKey = tuple[str | None, str | None, str | None]
"""(model, service_tier, context_window) of a usage row."""
Periods = tuple[list[date], list[tuple[UnitPrice | None, ...]]]
"""The days a row's prices change on (the first is `date.min`), and the prices from each on."""


class ModelPriceBook:
    """Effective-dated model prices; `shipped()` loads the data file, `override()` applies `ref.pricebook`."""

    def __init__(self, prices: Iterable[ModelPrice] = ()) -> None:
        self._dates: dict[PriceKey, list[date]] = {}
        self._prices: dict[PriceKey, list[Decimal]] = {}
        self._periods: dict[RowKey, Periods] = {}
        for price in prices:
            self._set(price)

    @classmethod
    def shipped(cls, path: Path = PRICES_FILE) -> ModelPriceBook:
        """The price book from the shipped data file."""
        with path.open(newline="") as rows:
            return cls(_shipped_price(row) for row in csv.DictReader(rows))

    def price(self, model: str | None, unit: str, day: date, context_window: str | None = None) -> Decimal | None:
        """The list price of `unit` of `model` on `day`, in USD per million units, or None."""
        for key in _lookups(model, context_window or ANY_WINDOW, unit):
            dates = self._dates.get(key)
            if dates:
                position = bisect.bisect_right(dates, day)
                if position:
                    return self._prices[key][position - 1]
        return None

    def unit_prices(self, model: str | None, service_tier: str | None, context_window: str | None,
                    day: date) -> tuple[UnitPrice | None, ...]:
        """The price of each of `PRICED_UNITS` for a usage row, tier applied; None where unpriced.

        Per (model, tier, window) the days its prices change on are worked out once; a row then
        costs one bisection, however many days the data spans.
        """
        key = (model, service_tier, context_window)
        periods = self._periods.get(key)
        if periods is None:
            periods = self._periods[key] = self._price_periods(model, service_tier, context_window)
        starts, prices = periods
        return prices[bisect.bisect_right(starts, day) - 1]

    def _price_periods(self, model: str | None, service_tier: str | None, context_window: str | None) -> Periods:
        window = context_window or ANY_WINDOW
        changes = {day for unit in PRICED_UNITS for key in _lookups(model, window, unit.name)
                   for day in self._dates.get(key, ())}
        starts = [date.min, *sorted(changes - {date.min})]
        return starts, [tuple(self._unit_price(unit, model, service_tier, context_window, start)
                              for unit in PRICED_UNITS) for start in starts]

    def _unit_price(self, unit: PricedUnit, model: str | None, service_tier: str | None,
                    context_window: str | None, day: date) -> UnitPrice | None:
        per_million = self.price(model, unit.name, day, context_window)
        if per_million is None:
            return None
        if unit.tier_discounted and service_tier == BATCH_TIER:
            per_million *= BATCH_FACTOR
        per_unit = per_million.scaleb(_PER_MILLION).quantize(_SCALE)
        return UnitPrice(unit, per_unit, format(per_million.normalize(), "f"))

    def override(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Apply `ref.pricebook` records that price a model (see the module doc); return how many."""
        applied = 0
        for row in rows:
            if not str(row.get("product_code", "")).startswith(OVERRIDE_PREFIX):
                continue
            try:
                price = _override_price(row)
            except ValueError as error:
                logger.warning("ref.pricebook %s/%s: not a model price, skipped: %s",
                               row.get("product_code"), row.get("plan_code"), error)
                continue
            self._set(price)
            applied += 1
        if applied:
            self._periods.clear()
        return applied

    def _set(self, price: ModelPrice) -> None:
        key = (price.model, price.context_window, price.unit)
        dates = self._dates.setdefault(key, [])
        prices = self._prices.setdefault(key, [])
        position = bisect.bisect_left(dates, price.effective_date)
        if position < len(dates) and dates[position] == price.effective_date:
            prices[position] = price.usd_per_million
        else:
            dates.insert(position, price.effective_date)
            prices.insert(position, price.usd_per_million)


def _lookups(model: str | None, window: str, unit: str) -> tuple[PriceKey, ...]:
    """Where a price is looked for, most specific first."""
    return (model, window, unit), (model, ANY_WINDOW, unit), (ANY_MODEL, ANY_WINDOW, unit)


def _shipped_price(row: Mapping[str, str]) -> ModelPrice:
    return ModelPrice(
        model=row["model"], context_window=row["context_window"], unit=_unit(row["unit"]),
        effective_date=date.fromisoformat(row["effective_date"]),
        usd_per_million=_amount(row["usd_per_million"]),
    )


def _override_price(row: Mapping[str, Any]) -> ModelPrice:
    currency = row.get("currency_code")
    if currency not in (None, PRICE_CURRENCY):
        raise ValueError(f"currency {currency!r}: model prices are in {PRICE_CURRENCY}")
    effective = row.get("effective_date")
    if not isinstance(effective, date):
        raise ValueError(f"effective_date {effective!r} is not a date")
    unit, _, window = str(row.get("plan_code", "")).partition(WINDOW_SEPARATOR)
    return ModelPrice(
        model=str(row["product_code"])[len(OVERRIDE_PREFIX):], context_window=window, unit=_unit(unit),
        effective_date=effective, usd_per_million=_amount(str(row.get("unit_price"))),
    )


def _unit(name: str) -> str:
    if name not in _UNIT_NAMES:
        raise ValueError(f"unknown unit {name!r}; expected one of {', '.join(sorted(_UNIT_NAMES))}")
    return name


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
        if value.is_finite() and value >= 0 and value == value.quantize(_PRICE_STEP):
            return value
    except InvalidOperation:
        pass
    raise ValueError(f"price {text!r:.40} is not a non-negative decimal with at most {PRICE_PLACES} decimal places")
