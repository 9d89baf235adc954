"""Anthropic raw records -> events: the usage report, the cost report and Claude Code.

Usage report (`raw.anthropic.usage`, platform `anthropic_api`):
- Only **1d buckets** (`ending_at - starting_at` = one day) become events. The poller also
  lands 1h buckets of the same usage; normalizing both would count it twice. The 1d buckets
  hold the complete history at the cost report's grain, and today's bucket is re-polled every
  minute (each poll a newer version of the same event), so it is fresh. 1h buckets stay in the
  landing table `raw_anthropic_usage` for intraday views; 1m buckets are skipped likewise.
- One usage event per row: `input_tokens` = `uncached_input_tokens`, the cache write and read
  tokens, `output_tokens`, `web_search_requests`; `requests` stays 0 (the report has no request
  count). The newer group-by dimensions go to `attributes` when set.
- Estimated cost, minutes after use: one `cost_kind='estimated'` event per priced unit with a
  non-zero quantity (the five token types as the cost report names them, and web search),
  amount = quantity x `ModelPriceBook.unit_prices` (tier and context window applied), with
  `attributes` `estimator='pricebook'` and `usd_per_million` (the price used). A unit without
  a price gets no estimate; the usage event is kept and marked `attributes['price_missing']='1'`.
  A restatement that drops a unit to zero leaves that unit's earlier estimate in place (the
  report's counts only grow within a day, so this is the rare vendor correction).
- Event time is the bucket start; attribution starts `unattributed` (`attribute` resolves the
  `api_key_id`; Console usage has none and stays unattributed).

Cost report (`raw.anthropic.cost`): one `cost_kind='reported'` event per row, amount = the
`amount` string (CENTS) / 100 in dollars, currency as given (uppercased), the vendor's text
kept in `attributes['vendor_amount_cents']`. Negative amounts are kept: a reported credit is
part of the bill. Workspace level: `unattributed` here, allocated by the batch.

Claude Code (`raw.anthropic.claude_code`, platform `claude_code`), per row (day x actor x
terminal/remote):
- one **activity** event (model null) with `sessions`, `lines_added`, `lines_removed` and, in
  `attributes`, commits, pull requests and each tool's accepted/rejected counts; and
- one event **per model** of `model_breakdown` with its tokens (`cache_creation` has no TTL
  split in this report: it goes to `cache_creation_5m_tokens`, the API's default TTL, which is
  also the rate the vendor's estimate uses), plus, when the vendor estimated it, a
  `cost_kind='estimated'` event with `attributes['estimator']='vendor'`: `estimated_cost.amount`
  is a NUMBER in CENTS, converted to dollars.
  Row metrics live only on the activity event and tokens only on the model events, so sums
  over either are exact and nothing is counted twice. A model listed twice in one row gets
  `#1`, `#2` sub-keys so neither collapses into the other.
- `user_actor` -> `direct_email` 1.0 with the lowercased email; `api_actor` -> the key name in
  `attributes['api_key_name']` for `attribute` to resolve. `customer_type`, terminal, remote
  flag and actor type go to `attributes`; `customer_type='api'` usage is also billed through
  the API key, so its tokens and costs overlap `anthropic_api`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from streams.attribution import API_KEY_NAME_ATTRIBUTE, DIRECT_EMAIL, NOBODY, Attribution
from streams.normalize.event import (
    ESTIMATED, MONEY, REPORTED, ZERO, Event, Origin, cost_event, counts, currency_code, decimal_text,
    dollars, event_id, midnight, non_negative, raw_key, usage_event,
)
from streams.normalize.prices import ModelPriceBook

USAGE_TOPIC = "raw.anthropic.usage"
COST_TOPIC = "raw.anthropic.cost"
CLAUDE_CODE_TOPIC = "raw.anthropic.claude_code"
SOURCE = "anthropic"
API_PLATFORM = "anthropic_api"
CODE_PLATFORM = "claude_code"
CURRENCY = "USD"
"""Anthropic bills and prices in US dollars."""
PRICE_MISSING = "price_missing"
DAY = timedelta(days=1)

_USAGE_UNITS = (
    "uncached_input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_ephemeral_5m_input_tokens",
    "cache_creation_ephemeral_1h_input_tokens", "server_tool_use_web_search_requests",
)
"""The usage row's counts, in `prices.PRICED_UNITS` order."""
_NEWER_DIMENSIONS = ("inference_geo", "account_id", "service_account_id")
_CODE_COUNTS = (
    "core_metrics_num_sessions", "core_metrics_lines_of_code_added", "core_metrics_lines_of_code_removed",
    "core_metrics_commits_by_claude_code", "core_metrics_pull_requests_by_claude_code",
)
_MODEL_TOKENS = ("tokens_input", "tokens_output", "tokens_cache_read", "tokens_cache_creation")
_ACTOR_ATTRIBUTES = ("actor_type", "customer_type", "terminal_type", "organization_id")


def usage(record: Mapping[str, Any], origin: Origin, prices: ModelPriceBook, usage_out: list[Event],
          costs_out: list[Event]) -> None:
    """A usage-report row: a usage event and its estimated costs (1d buckets only)."""
    start = record["starting_at"]
    if record["ending_at"] - start != DAY:
        return
    quantities = counts(record, _USAGE_UNITS)
    uncached, output, cache_read, cache_5m, cache_1h, searches = quantities
    key = raw_key(origin, record)
    day = start.date()
    attributes = {name: record[name] for name in _NEWER_DIMENSIONS if record.get(name) is not None}
    usage_out.append(usage_event(
        origin, event_id(USAGE_TOPIC, key), SOURCE, API_PLATFORM, start, day, attributes,
        api_key_id=record["api_key_id"], workspace_id=record["workspace_id"], model=record["model"],
        service_tier=record["service_tier"], context_window=record["context_window"], input_tokens=uncached,
        output_tokens=output, cache_creation_5m_tokens=cache_5m, cache_creation_1h_tokens=cache_1h,
        cache_read_tokens=cache_read, web_search_requests=searches,
    ))
    if not _estimate(record, key, quantities, start, day, origin, prices, costs_out):
        attributes[PRICE_MISSING] = "1"


def _estimate(record: Mapping[str, Any], key: str, quantities: list[int], start: datetime, day: date,
              origin: Origin, prices: ModelPriceBook, costs_out: list[Event]) -> bool:
    """Append the row's estimated cost events; False when a unit used has no price."""
    model, tier, window = record["model"], record["service_tier"], record["context_window"]
    template: Event | None = None
    complete = True
    for price, quantity in zip(prices.unit_prices(model, tier, window, day), quantities, strict=True):
        if not quantity:
            continue
        if price is None:
            complete = False
            continue
        if template is None:
            template = cost_event(
                origin, "", SOURCE, API_PLATFORM, ESTIMATED, start, day, ZERO, CURRENCY, {},
                api_key_id=record["api_key_id"], workspace_id=record["workspace_id"], model=model,
                service_tier=tier, context_window=window,
            )
        # A row's estimates differ in five fields only: copying a template costs a third of building each.
        unit = price.unit
        estimate = template.copy()
        estimate["event_id"] = event_id(USAGE_TOPIC, key, f"{ESTIMATED}:{unit.name}")
        estimate["amount"] = MONEY.multiply(quantity, price.usd_per_unit)
        estimate["token_type"] = unit.token_type
        estimate["cost_type"] = unit.cost_type
        estimate["attributes"] = {"estimator": "pricebook", "usd_per_million": price.usd_per_million}
        costs_out.append(estimate)
    return complete


def cost(record: Mapping[str, Any], origin: Origin, prices: ModelPriceBook, usage_out: list[Event],
         costs_out: list[Event]) -> None:
    """A cost-report row: a reported cost event in dollars."""
    start = record["starting_at"]
    cents = record["amount"]
    costs_out.append(cost_event(
        origin, event_id(COST_TOPIC, raw_key(origin, record)), SOURCE, API_PLATFORM, REPORTED, start, start.date(),
        dollars(decimal_text(cents, "amount"), "amount"), currency_code(record["currency"], CURRENCY),
        {"vendor_amount_cents": cents},
        workspace_id=record["workspace_id"], model=record["model"], token_type=record["token_type"],
        cost_type=record["cost_type"], description=record["description"], service_tier=record["service_tier"],
        context_window=record["context_window"],
    ))


def claude_code(record: Mapping[str, Any], origin: Origin, prices: ModelPriceBook, usage_out: list[Event],
                costs_out: list[Event]) -> None:
    """A Claude Code row: its activity event, and per model a usage event and the vendor's estimate."""
    key = raw_key(origin, record)
    day = record["date"]
    at = midnight(day)
    sessions, added, removed, commits, pull_requests = counts(record, _CODE_COUNTS)
    attribution, actor = _actor(record)
    activity = {**actor, "commits": str(commits), "pull_requests": str(pull_requests)}
    for tool, actions in record["tool_actions"].items():
        activity[f"{tool}_accepted"] = str(actions["accepted"])
        activity[f"{tool}_rejected"] = str(actions["rejected"])
    usage_out.append(usage_event(
        origin, event_id(CLAUDE_CODE_TOPIC, key, "activity"), SOURCE, CODE_PLATFORM, at, day, activity,
        attribution=attribution, sessions=sessions, lines_added=added, lines_removed=removed,
    ))
    listed: dict[str, int] = {}
    for item in record["model_breakdown"]:
        model = item["model"]
        repeat = listed[model] = listed.get(model, -1) + 1
        sub_key = f"model:{model}#{repeat}" if repeat else f"model:{model}"
        tokens_in, tokens_out, cache_read, cache_creation = counts(item, _MODEL_TOKENS)
        usage_out.append(usage_event(
            origin, event_id(CLAUDE_CODE_TOPIC, key, sub_key), SOURCE, CODE_PLATFORM, at, day, dict(actor),
            attribution=attribution, model=model, input_tokens=tokens_in, output_tokens=tokens_out,
            cache_creation_5m_tokens=cache_creation, cache_read_tokens=cache_read,
        ))
        if item["estimated_cost_amount"] is not None:
            cents = repr(item["estimated_cost_amount"])
            amount = non_negative(decimal_text(cents, "estimated_cost.amount"), "estimated_cost.amount")
            costs_out.append(cost_event(
                origin, event_id(CLAUDE_CODE_TOPIC, key, f"{ESTIMATED}:{sub_key}"), SOURCE, CODE_PLATFORM, ESTIMATED,
                at, day, dollars(amount, "estimated_cost.amount"),
                currency_code(item["estimated_cost_currency"], CURRENCY),
                {**actor, "estimator": "vendor", "vendor_amount_cents": cents},
                attribution=attribution, model=model, cost_type="tokens",
            ))


def _actor(record: Mapping[str, Any]) -> tuple[Attribution, dict[str, str]]:
    """Who the row names, and the row's descriptive attributes."""
    attributes = {name: record[name] for name in _ACTOR_ATTRIBUTES if record[name] is not None}
    remote = record["is_remote"]
    if remote is not None:
        attributes["is_remote"] = "true" if remote else "false"
    email = record["actor_email_address"]
    if record["actor_type"] == "user_actor" and email:
        return Attribution(email.lower(), DIRECT_EMAIL, 1.0), attributes
    name = record["actor_api_key_name"]
    if name is not None:
        attributes[API_KEY_NAME_ATTRIBUTE] = name
    return NOBODY, attributes
