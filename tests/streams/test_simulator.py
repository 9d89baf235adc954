"""The vendor API simulator over real HTTP on loopback: determinism, pagination, limits, auth, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.simulator import World, build_app, serve_in_thread, simulator_service
from streams.simulator import anthropic, cursor, product, stripe
from streams.simulator.server import generate_all
from streams.simulator.world import day_start
from usagemart.processes import free_port

from tests.streams.simulator_client import NOW, START, base_url, client, make_world, world  # noqa: F401
ANTHROPIC = {"x-api-key": "sk-ant-admin-test", "anthropic-version": "2023-06-01"}
CURSOR = ("key_test", "")
STRIPE = {"Authorization": "Bearer sk_test_123"}
TOKEN_FIELDS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")




def usage_tokens(result: dict[str, Any]) -> tuple[int, ...]:
    return tuple(result[name] for name in TOKEN_FIELDS) + (
        result["cache_creation"]["ephemeral_1h_input_tokens"], result["cache_creation"]["ephemeral_5m_input_tokens"],
        result["server_tool_use"]["web_search_requests"])


def total(results: list[dict[str, Any]]) -> tuple[int, ...]:
    return tuple(sum(column) for column in zip(*(usage_tokens(result) for result in results), strict=True)) \
        if results else (0,) * 6


def anthropic_pages(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Every row of a page-token endpoint, and how many requests it took."""
    rows, page, requests = [], None, 0
    while True:
        response = client.get(path, params={**params, **({"page": page} if page else {})}, headers=ANTHROPIC)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        requests += 1
        if not body["has_more"]:
            assert body["next_page"] is None
            return rows, requests
        page = body["next_page"]


# --- determinism and speed ------------------------------------------------------------------


def test_same_seed_serves_the_same_bytes() -> None:
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1/organizations/usage_report/messages",
         {"params": {"starting_at": "2026-01-05T00:00:00Z", "group_by[]": ["model", "api_key_id"], "limit": 31},
          "headers": ANTHROPIC}),
        ("GET", "/v1/organizations/cost_report",
         {"params": {"starting_at": "2026-01-05T00:00:00Z", "group_by[]": "description"}, "headers": ANTHROPIC}),
        ("GET", "/v1/organizations/usage_report/claude_code",
         {"params": {"starting_at": "2026-02-03", "limit": 1000}, "headers": ANTHROPIC}),
        ("GET", "/v1/organizations/api_keys", {"params": {"limit": 1000}, "headers": ANTHROPIC}),
        ("POST", "/teams/daily-usage-data",
         {"json": {"startDate": day_start(date(2026, 1, 20)) * 1000, "endDate": day_start(date(2026, 2, 9)) * 1000},
          "auth": CURSOR}),
        ("POST", "/teams/filtered-usage-events", {"json": {"pageSize": 500}, "auth": CURSOR}),
        ("GET", "/v1/charges", {"params": {"limit": 100}, "headers": STRIPE}),
        ("GET", "/v1/events", {"params": {"limit": 100}, "headers": STRIPE}),
        ("GET", "/v1/usage", {"params": {"limit": 1000}}),
        ("GET", "/v1/pricebook", {}),
    ]

    def fetch(seed: int) -> list[bytes]:
        with serve_in_thread(build_app(make_world(seed))) as url, httpx.Client(base_url=url) as http:
            return [http.request(method, path, **options).content for method, path, options in requests]

    first, again, other = fetch(5), fetch(5), fetch(6)
    assert first == again
    # The price book is configuration, not seeded data.
    assert all(a != b for a, b in zip(first[:-1], other[:-1], strict=True)) and first[-1] == other[-1]


def test_a_day_does_not_depend_on_the_other_days() -> None:
    day = date(2026, 1, 20)
    alone = make_world()
    everything = make_world()
    generate_all(everything)
    assert anthropic.usage_events(alone, day) == anthropic.usage_events(everything, day)
    assert anthropic.claude_code(alone, day) == anthropic.claude_code(everything, day)
    ms = day_start(day) * 1000
    assert cursor.daily_usage(alone, ms, ms) == cursor.daily_usage(everything, ms, ms)


def test_the_default_world_generates_90_days() -> None:
    counts = generate_all(World())
    assert counts["anthropic.usage_events"] > 10_000 and counts["cursor.usage_events"] > 10_000
    assert counts["anthropic.api_keys"] == 60 and counts["anthropic.users"] == 40


# --- Anthropic ------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "starting_at", "ending_at", "limits"), [
    ("1d", "2025-12-30T00:00:00Z", None, (1, 7, 31)),
    ("1h", "2026-02-06T10:00:00Z", None, (24, 168)),
    ("1m", "2026-02-09T09:00:00Z", "2026-02-09T11:30:00Z", (60, 1440)),
])
def test_usage_report_pages_cover_the_ground_truth(client: httpx.Client, world: World, width: str,
                                                   starting_at: str, ending_at: str | None,
                                                   limits: tuple[int, ...]) -> None:
    group_by = ["api_key_id", "model", "service_tier"]
    params: dict[str, Any] = {"starting_at": starting_at, "bucket_width": width, "group_by[]": group_by}
    if ending_at:
        params["ending_at"] = ending_at
    start = int(datetime.fromisoformat(starting_at).timestamp())
    end = int(datetime.fromisoformat(ending_at).timestamp()) if ending_at else None
    truth = anthropic.usage_report(world, width, start, end, group_by)
    assert truth and any(bucket["results"] for bucket in truth)
    for limit in limits:
        rows, requests = anthropic_pages(client, "/v1/organizations/usage_report/messages", {**params, "limit": limit})
        assert rows == truth
        assert len({bucket["starting_at"] for bucket in rows}) == len(rows)
        assert requests == max(1, -(-len(truth) // limit))


def test_usage_report_has_idle_buckets_and_stops_at_now(client: httpx.Client, world: World) -> None:
    rows, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                              {"starting_at": "2025-12-31T00:00:00Z", "limit": 31})
    assert rows[0]["results"] == []  # before the first day with data
    assert rows[-1]["starting_at"] == "2026-02-09T00:00:00Z"
    hourly, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                                {"starting_at": "2026-02-08T00:00:00Z", "bucket_width": "1h", "limit": 168})
    assert any(bucket["results"] == [] for bucket in hourly)
    assert hourly[-1]["starting_at"] == "2026-02-09T15:00:00Z"


def test_group_by_sums_equal_the_ungrouped_totals(client: httpx.Client, world: World) -> None:
    params = {"starting_at": "2026-01-01T00:00:00Z", "limit": 31}
    ungrouped, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages", params)
    assert all(len(bucket["results"]) <= 1 for bucket in ungrouped)
    assert all(value is None for bucket in ungrouped for result in bucket["results"]
               for value in (result["model"], result["api_key_id"], result["workspace_id"]))
    for group_by in (["model"], ["workspace_id", "context_window"], list(anthropic.DIMENSIONS), ["inference_geo"]):
        grouped, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                                     {**params, "group_by[]": group_by})
        for plain, split in zip(ungrouped, grouped, strict=True):
            assert total(split["results"]) == total(plain["results"])
            keys = [tuple(result[dim] for dim in group_by) for result in split["results"]]
            assert len(keys) == len(set(keys))
    events = [event for day in world.dates() for event in anthropic.usage_events(world, day)]
    assert sum(total(bucket["results"])[0] for bucket in ungrouped) == sum(e.uncached_input_tokens for e in events)


def test_widths_and_filters_agree(client: httpx.Client, world: World) -> None:
    day = {"starting_at": "2026-02-02T00:00:00Z", "ending_at": "2026-02-03T00:00:00Z"}
    daily, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages", {**day, "limit": 1})
    hourly, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                                {**day, "bucket_width": "1h", "limit": 24})
    minutes, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                                 {**day, "bucket_width": "1m", "limit": 1440})
    assert len(hourly) == 24 and len(minutes) == 1440
    expected = total(daily[0]["results"])
    assert total([r for b in hourly for r in b["results"]]) == expected
    assert total([r for b in minutes for r in b["results"]]) == expected
    by_key, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                                {**day, "limit": 1, "group_by[]": "api_key_id"})
    some_key = next(r for r in by_key[0]["results"] if r["api_key_id"])
    filtered, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages",
                                  {**day, "limit": 1, "api_key_ids[]": some_key["api_key_id"]})
    assert total(filtered[0]["results"]) == usage_tokens(some_key)


def test_cost_report_pages_and_group_sums(client: httpx.Client, world: World) -> None:
    start = int(datetime(2026, 1, 3, tzinfo=UTC).timestamp())
    params = {"starting_at": "2026-01-03T00:00:00Z"}
    plain, _ = anthropic_pages(client, "/v1/organizations/cost_report", {**params, "limit": 31})
    assert plain == anthropic.cost_report(world, start)
    for limit in (1, 7, 31):
        grouped, _ = anthropic_pages(client, "/v1/organizations/cost_report",
                                     {**params, "limit": limit, "group_by[]": ["workspace_id", "description"]})
        assert grouped == anthropic.cost_report(world, start, None, ["workspace_id", "description"])
    for one, many in zip(plain, grouped, strict=True):
        assert sum(Decimal(r["amount"]) for r in one["results"]) == sum(Decimal(r["amount"]) for r in many["results"])
    results = [r for bucket in grouped for r in bucket["results"]]
    assert all(isinstance(r["amount"], str) and r["currency"] == "USD" for r in results)
    assert {r["cost_type"] for r in results} >= {"tokens", "web_search"}
    assert "priority" not in {r["service_tier"] for r in results}
    assert {r["workspace_id"] for r in results} >= {None}


def test_claude_code_pages_a_day(client: httpx.Client, world: World) -> None:
    truth = anthropic.claude_code(world, date(2026, 2, 5))
    actors = [(row["actor"].get("email_address") or row["actor"]["api_key_name"]) for row in truth]
    assert len(actors) > len(set(actors)), "some actor has several rows a day"
    assert {row["actor"]["type"] for row in truth} == {"user_actor", "api_actor"}
    for limit in (1, 3, 1000):
        rows, _ = anthropic_pages(client, "/v1/organizations/usage_report/claude_code",
                                  {"starting_at": "2026-02-05", "limit": limit})
        assert rows == truth


def test_claude_code_hides_the_last_hour() -> None:
    early = World(seed=11, start=START, days=40, now=datetime(2026, 2, 9, 0, 30, tzinfo=UTC))
    assert anthropic.claude_code(early, date(2026, 2, 9)) == []
    later = World(seed=11, start=START, days=40, now=datetime(2026, 2, 10, tzinfo=UTC))
    assert anthropic.claude_code(later, date(2026, 2, 9))


@pytest.mark.parametrize(("path", "rows"), [
    ("/v1/organizations/api_keys", anthropic.api_keys), ("/v1/organizations/users", anthropic.users),
])
def test_id_lists_page_with_after_id(client: httpx.Client, world: World, path: str,
                                     rows: Callable[[World], list[dict[str, Any]]]) -> None:
    for limit in (1, 7, 1000):
        seen, after = [], None
        while True:
            body = client.get(path, params={"limit": limit, **({"after_id": after} if after else {})},
                              headers=ANTHROPIC).json()
            seen += body["data"]
            assert body["first_id"] == body["data"][0]["id"] and body["last_id"] == body["data"][-1]["id"]
            if not body["has_more"]:
                break
            after = body["last_id"]
        assert seen == rows(world)


def test_api_keys_show_the_attribution_quirks(world: World) -> None:
    keys = anthropic.api_keys(world)
    user_ids = {user["id"] for user in anthropic.users(world)}
    assert [key["name"] for key in keys].count(anthropic.DUPLICATE_KEY_NAME) == 2
    assert {key["status"] for key in keys} == {"active", "inactive", "archived"}
    assert len({key["workspace_id"] for key in keys}) == world.workspaces
    assert any(key["created_by"]["id"] not in user_ids for key in keys)


@pytest.mark.parametrize(("params", "message"), [
    ({"starting_at": "2026-01-01T00:00:00Z", "limit": 32}, "limit"),
    ({"starting_at": "2026-01-01T00:00:00Z", "bucket_width": "1h", "limit": 169}, "limit"),
    ({"starting_at": "2026-01-01T00:00:00Z", "bucket_width": "1m", "limit": 1441}, "limit"),
    ({"starting_at": "2026-01-01T00:00:00Z", "bucket_width": "5m"}, "bucket_width"),
    ({"starting_at": "2026-01-01T00:00:00Z", "group_by[]": "user"}, "group_by"),
    ({"starting_at": "yesterday"}, "starting_at"),
    ({"starting_at": "2026-01-02T00:00:00Z", "ending_at": "2026-01-01T00:00:00Z"}, "ending_at"),
    ({"starting_at": "2026-01-01T00:00:00Z", "page": "garbage"}, "page"),
    ({}, "starting_at"),
])
def test_messages_rejects_bad_requests(client: httpx.Client, params: dict[str, Any], message: str) -> None:
    response = client.get("/v1/organizations/usage_report/messages", params=params, headers=ANTHROPIC)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert message in body["error"]["message"] and body["request_id"].startswith("req_")


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/organizations/cost_report", {"starting_at": "2026-01-01T00:00:00Z", "bucket_width": "1h"}),
    ("/v1/organizations/cost_report", {"starting_at": "2026-01-01T00:00:00Z", "limit": 32}),
    ("/v1/organizations/cost_report", {"starting_at": "2026-01-01T00:00:00Z", "group_by[]": "model"}),
    ("/v1/organizations/usage_report/claude_code", {"starting_at": "2026-01-01", "limit": 1001}),
    ("/v1/organizations/usage_report/claude_code", {"starting_at": "2026-01-01T00:00:00Z"}),
    ("/v1/organizations/api_keys", {"limit": 1001}),
    ("/v1/organizations/users", {"limit": 0}),
])
def test_anthropic_limits(client: httpx.Client, path: str, params: dict[str, Any]) -> None:
    response = client.get(path, params=params, headers=ANTHROPIC)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


# --- Cursor ---------------------------------------------------------------------------------


def test_cursor_events_page_through_the_ground_truth(client: httpx.Client, world: World) -> None:
    start, end = day_start(date(2026, 2, 2)) * 1000, day_start(date(2026, 2, 5)) * 1000 - 1
    truth = cursor.usage_events(world, start, end)
    for size in (7, 50, 1000):
        events, page = [], 1
        while True:
            body = client.post("/teams/filtered-usage-events", auth=CURSOR,
                               json={"startDate": start, "endDate": end, "page": page, "pageSize": size}).json()
            assert body["totalUsageEventsCount"] == len(truth)
            events += body["usageEvents"]
            if not body["pagination"]["hasNextPage"]:
                break
            page += 1
        assert events == truth and page == body["pagination"]["numPages"]
    assert all(isinstance(event["timestamp"], str) for event in truth)
    assert any(a == b for a, b in zip(truth, truth[1:])), "exact repeats are served on purpose"
    assert [int(e["timestamp"]) for e in truth] == sorted((int(e["timestamp"]) for e in truth), reverse=True)


def test_cursor_daily_usage_spend_and_members(client: httpx.Client, world: World) -> None:
    end = day_start(date(2026, 2, 9)) * 1000
    start = end - 30 * 86_400_000
    body = client.post("/teams/daily-usage-data", auth=CURSOR, json={"startDate": start, "endDate": end}).json()
    assert body["data"] == cursor.daily_usage(world, start, end)
    assert body["period"] == {"startDate": start, "endDate": end}
    days = {(date(2026, 2, 9) - timedelta(days=n)).isoformat() for n in range(31)}
    assert {row["day"] for row in body["data"]} == days
    too_long = client.post("/teams/daily-usage-data", auth=CURSOR, json={"startDate": start - 1, "endDate": end})
    assert too_long.status_code == 400 and set(too_long.json()) == {"error", "message"}
    members = client.get("/teams/members", auth=CURSOR).json()["teamMembers"]
    assert len(members) == world.cursor_members and sum(member["isRemoved"] for member in members) == 3
    spend = []
    for page in (1, 2, 3, 4):
        body = client.post("/teams/spend", auth=CURSOR, json={"page": page, "pageSize": 8}).json()
        spend += body["teamMemberSpend"]
    assert body["totalPages"] == 4 and body["totalMembers"] == len(spend) == 27
    assert sorted(spend, key=lambda row: row["spendCents"], reverse=True) == spend
    assert body["subscriptionCycleStart"] == day_start(date(2026, 2, 1)) * 1000


# --- Stripe ---------------------------------------------------------------------------------


def stripe_pages(client: httpx.Client, path: str, params: dict[str, Any], backwards: bool = False,
                 ) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor_param: dict[str, str] = {}
    while True:
        body = client.get(path, params={**params, **cursor_param}, headers=STRIPE).json()
        assert body["object"] == "list" and body["url"] == path
        rows = body["data"] + rows if backwards else rows + body["data"]
        if not body["has_more"]:
            return rows
        cursor_param = ({"ending_before": body["data"][0]["id"]} if backwards
                        else {"starting_after": body["data"][-1]["id"]})


def test_stripe_charges_page_both_ways(client: httpx.Client, world: World) -> None:
    truth = stripe.charges(world)
    assert stripe_pages(client, "/v1/charges", {"limit": 100}) == truth
    since = day_start(date(2026, 2, 6))
    recent = [charge for charge in truth if charge["created"] >= since]
    assert stripe_pages(client, "/v1/charges", {"limit": 1, "created[gte]": since}) == recent
    oldest = recent[-1]["id"]
    newer = stripe_pages(client, "/v1/charges", {"limit": 7, "created[gte]": since, "ending_before": oldest},
                         backwards=True)
    assert newer == recent[:-1]
    window = {"created[gt]": since, "created[lt]": since + 86_400}
    assert stripe_pages(client, "/v1/charges", {"limit": 13, **window}) == [
        charge for charge in truth if since < charge["created"] < since + 86_400]
    assert {charge["currency"] for charge in truth} >= {"usd", "eur", "jpy"}
    assert {charge["status"] for charge in truth} >= {"succeeded", "failed"}
    assert any(charge["refunded"] for charge in truth) and not all(charge["livemode"] for charge in truth)


def test_stripe_events_carry_each_charge_state(client: httpx.Client, world: World) -> None:
    events = stripe_pages(client, "/v1/events", {"limit": 100})
    assert events == stripe.events(world)
    assert {event["type"] for event in events} >= {"charge.succeeded", "charge.failed", "charge.captured",
                                                   "charge.refunded", "charge.updated"}
    assert min(event["created"] for event in events) >= world.now_ts - stripe.EVENT_RETENTION
    latest = {charge["id"]: charge for charge in stripe.charges(world)}
    newest_state: dict[str, dict[str, Any]] = {}
    for event in reversed(events):
        newest_state[event["data"]["object"]["id"]] = event["data"]["object"]
    assert all(latest[charge_id] == state for charge_id, state in newest_state.items())
    refunds = stripe_pages(client, "/v1/events", {"limit": 10, "types[]": ["charge.refunded", "charge.captured"]})
    assert refunds and {event["type"] for event in refunds} == {"charge.refunded", "charge.captured"}
    assert len(stripe_pages(client, "/v1/events", {"limit": 100, "type": "charge.*"})) == len(events)


def test_stripe_rejects_bad_lists(client: httpx.Client) -> None:
    too_many = client.get("/v1/charges", params={"limit": 101}, headers=STRIPE)
    assert too_many.status_code == 400 and too_many.json()["error"]["type"] == "invalid_request_error"
    missing = client.get("/v1/charges", params={"starting_after": "ch_nope"}, headers=STRIPE)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "resource_missing"


# --- product usage --------------------------------------------------------------------------


def product_pages(client: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor_param: dict[str, str] = {}
    while True:
        body = client.get("/v1/usage", params={**params, **cursor_param}).json()
        rows += body["data"]
        if body["next_cursor"] is None:
            return rows
        cursor_param = {"cursor": body["next_cursor"]}


def test_product_usage_pages_cover_the_ground_truth(client: httpx.Client, world: World) -> None:
    truth = product.usage(world)
    for limit in (97, 1000):
        assert product_pages(client, {"limit": limit}) == truth
    since = "2026-02-08T00:00:00Z"
    recent = product.usage(world, int(datetime.fromisoformat(since).timestamp()))
    assert recent and product_pages(client, {"limit": 1, "updated_since": since}) == recent
    assert {row["status"] for row in truth} == {"OPEN", "CLOSED"}
    assert client.get("/v1/usage", params={"cursor": "cur_bad"}).status_code == 400
    assert client.get("/v1/usage", params={"limit": 1001}).json()["error"]["code"] == "invalid_request"


# --- restatements and late catalogs ---------------------------------------------------------


def test_advance_restates_only_the_recent_days(client: httpx.Client, world: World) -> None:
    params = {"starting_at": "2026-01-01T00:00:00Z", "limit": 31, "group_by[]": "model"}
    before, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages", params)
    usage_before = product.usage(world)
    daily = {"startDate": day_start(date(2026, 1, 20)) * 1000, "endDate": day_start(date(2026, 2, 9)) * 1000}
    cursor_before = client.post("/teams/daily-usage-data", auth=CURSOR, json=daily).json()["data"]
    state = client.post("/_sim/advance").json()
    assert state["revision"] == 1 and state["restated_days"] == ["2026-02-07", "2026-02-08", "2026-02-09"]
    after, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages", params)
    changed = {b["starting_at"][:10] for b, a in zip(before, after, strict=True) if b != a}
    assert changed == set(state["restated_days"])
    cursor_after = client.post("/teams/daily-usage-data", auth=CURSOR, json=daily).json()["data"]
    assert {b["day"] for b, a in zip(cursor_before, cursor_after, strict=True) if b != a} == set(state["restated_days"])
    newest = max(row["updated_at"] for row in usage_before)
    restated = product_pages(client, {"updated_since": newest, "limit": 1000})
    assert restated and all(row["report_date"] in state["restated_days"] for row in restated
                            if row["updated_at"] > newest)
    assert any(row["updated_at"] > newest for row in restated)
    assert client.post("/_sim/reset").json()["revision"] == 0
    again, _ = anthropic_pages(client, "/v1/organizations/usage_report/messages", params)
    assert again == before


def test_late_catalog_codes_appear_after_advancing(client: httpx.Client, world: World) -> None:
    def missing() -> dict[str, set[str]]:
        usage = product_pages(client, {"limit": 1000})
        found = {}
        for name, field in (("customers", "customer_code"), ("products", "product_code"),
                            ("plans", "plan_code"), ("countries", "country_code")):
            published = {row["code"] for row in client.get(f"/v1/catalog/{name}").json()["data"]}
            found[name] = {row[field] for row in usage} - published
        return found

    early = missing()
    assert all(early.values()), early
    prices = len(client.get("/v1/pricebook").json()["data"])
    client.post("/_sim/advance", json={"revisions": world.late_catalog_revision})
    late = missing()
    assert late == {"customers": {product.UNKNOWN_CUSTOMER}, "products": set(), "plans": set(), "countries": set()}
    assert len(client.get("/v1/pricebook").json()["data"]) == prices + 2
    currencies = client.get("/v1/catalog/currencies").json()["data"]
    assert {row["code"] for row in currencies} >= {"USD", "JPY"}
    assert client.get("/v1/catalog/nope").status_code == 404


def test_pricebook_has_a_mid_range_change(world: World) -> None:
    rows = [row for row in product.pricebook(world) if row["product_code"] == "API-CALLS" and row["plan_code"] is None]
    assert len(rows) == 2 and START.isoformat() < rows[1]["effective_date"] < NOW.date().isoformat()
    assert any(row["currency_code"] is None for row in product.pricebook(world))


# --- auth -----------------------------------------------------------------------------------


def test_missing_credentials_are_rejected_in_each_vendor_shape(client: httpx.Client) -> None:
    no_key = client.get("/v1/organizations/users")
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    no_version = client.get("/v1/organizations/users", headers={"x-api-key": "k"})
    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]
    assert client.get("/teams/members").json()["error"] == "Unauthorized"
    assert client.get("/v1/charges").json()["error"]["type"] == "invalid_request_error"
    assert client.get("/v1/charges", headers={"Authorization": "Basic xyz"}).status_code == 401


def test_strict_keys_must_match(world: World) -> None:
    keys = {"anthropic": "sk-ant-admin-right", "cursor": "cursor-right", "stripe": "sk_test_right"}
    with serve_in_thread(build_app(world, keys=keys, accept_any_key=False)) as url, httpx.Client(base_url=url) as http:
        wrong = http.get("/v1/organizations/users", headers=ANTHROPIC)
        assert wrong.status_code == 401
        right = http.get("/v1/organizations/users", headers={**ANTHROPIC, "x-api-key": keys["anthropic"]})
        assert right.status_code == 200
        assert http.get("/teams/members", auth=CURSOR).status_code == 401
        assert http.get("/teams/members", auth=(keys["cursor"], "")).status_code == 200
        assert http.get("/v1/charges", headers=STRIPE).status_code == 401
        assert http.get("/v1/charges", headers={"Authorization": "Bearer sk_test_right"}).status_code == 200


# --- faults ---------------------------------------------------------------------------------


def set_faults(client: httpx.Client, *rules: dict[str, Any]) -> None:
    response = client.post("/_sim/faults", json={"rules": list(rules)})
    assert response.status_code == 200, response.text


def test_rate_limits_and_errors_in_vendor_shapes(client: httpx.Client) -> None:
    set_faults(client,
               {"fault": "rate_limit", "path": "/v1/organizations/users", "every": 2, "retry_after": 3},
               {"fault": "rate_limit_no_retry_after", "path": "/teams/*"},
               {"fault": "server_error", "path": "/v1/charges"},
               {"fault": "overloaded", "path": "/v1/organizations/api_keys"})
    statuses = [client.get("/v1/organizations/users", headers=ANTHROPIC) for _ in range(4)]
    assert [response.status_code for response in statuses] == [200, 429, 200, 429]
    assert statuses[1].headers["retry-after"] == "3"
    assert statuses[1].json()["error"]["type"] == "rate_limit_error"
    cursor_limited = client.get("/teams/members", auth=CURSOR)
    assert cursor_limited.status_code == 429 and "retry-after" not in cursor_limited.headers
    assert cursor_limited.json()["error"] == "Too Many Requests"
    failed = client.get("/v1/charges", headers=STRIPE)
    assert failed.status_code == 500 and failed.json()["error"]["type"] == "api_error"
    overloaded = client.get("/v1/organizations/api_keys", headers=ANTHROPIC)
    assert overloaded.status_code == 529 and overloaded.json()["error"]["type"] == "overloaded_error"
    stats = client.get("/_sim/stats").json()
    assert stats["by_path"]["/v1/organizations/users"] == 4
    assert stats["by_fault"] == {"rate_limit": 2, "rate_limit_no_retry_after": 1, "server_error": 1, "overloaded": 1}
    rules = client.get("/_sim/faults").json()["rules"]
    assert (rules[0]["seen"], rules[0]["fired"]) == (4, 2)


def test_probability_faults_repeat_with_the_seed(client: httpx.Client) -> None:
    def pattern() -> list[int]:
        client.post("/_sim/reset")
        set_faults(client, {"fault": "server_error", "path": "/v1/pricebook", "probability": 0.5})
        return [client.get("/v1/pricebook").status_code for _ in range(20)]

    first = pattern()
    assert first == pattern() and {200, 500} == set(first)


def test_times_limits_a_rule(client: httpx.Client) -> None:
    set_faults(client, {"fault": "server_error", "path": "/v1/pricebook", "times": 2})
    assert [client.get("/v1/pricebook").status_code for _ in range(4)] == [500, 500, 200, 200]


def test_slow_and_timeout(client: httpx.Client) -> None:
    set_faults(client, {"fault": "slow", "path": "/v1/pricebook", "delay": 0.3},
               {"fault": "timeout", "path": "/v1/catalog/*", "delay": 5})
    started = time.perf_counter()
    assert client.get("/v1/pricebook").status_code == 200
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(httpx.ReadTimeout):
        client.get("/v1/catalog/plans", timeout=0.3)


def test_truncated_json(client: httpx.Client) -> None:
    whole = client.get("/v1/pricebook").content
    set_faults(client, {"fault": "truncated", "path": "/v1/pricebook", "times": 1})
    cut = client.get("/v1/pricebook")
    assert cut.status_code == 200 and whole.startswith(cut.content) and len(cut.content) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)
    assert client.get("/v1/pricebook").content == whole


def test_repeat_page_serves_the_previous_page_once(client: httpx.Client, world: World) -> None:
    set_faults(client, {"fault": "repeat_page", "path": "/v1/usage", "times": 1})
    first = client.get("/v1/usage", params={"limit": 5}).json()
    repeated = client.get("/v1/usage", params={"limit": 5, "cursor": first["next_cursor"]}).json()
    assert repeated == first
    second = client.get("/v1/usage", params={"limit": 5, "cursor": first["next_cursor"]}).json()
    assert second["data"] == product.usage(world)[5:10]
    set_faults(client, {"fault": "repeat_page", "path": "/teams/filtered-usage-events", "times": 1})
    page_one = client.post("/teams/filtered-usage-events", auth=CURSOR, json={"page": 1}).json()
    assert client.post("/teams/filtered-usage-events", auth=CURSOR, json={"page": 2}).json() == page_one


def test_bad_fault_config_is_rejected(client: httpx.Client) -> None:
    response = client.post("/_sim/faults", json={"rules": [{"fault": "meteor"}]})
    assert response.status_code == 400 and "fault must be one of" in response.json()["error"]
    assert client.post("/_sim/faults", json={"rules": [{"fault": "slow", "colour": 1}]}).status_code == 400


# --- the command ----------------------------------------------------------------------------


def test_simulator_service_runs_the_module(tmp_path: Path) -> None:
    port = free_port()
    service = simulator_service(tmp_path, port, seed=3)
    service.start(timeout=30)
    try:
        state = httpx.get(f"http://127.0.0.1:{port}/_sim/state").json()
        assert state["seed"] == 3 and state["revision"] == 0
    finally:
        assert service.stop()
