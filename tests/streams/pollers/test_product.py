"""The product usage poller against the simulator over HTTP, publishing to the real broker."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from schemas.contracts import natural_key
from streams.pollers import feed, product
from streams.pollers.checkpoint import CheckpointStore
from streams.pollers.source import poll_once
from streams.pollers.utc import rfc3339
from streams.pollers.vendor_http import MalformedPage
from streams.simulator import product as vendor
from streams.simulator.world import World
from tests.streams.pollers.conftest import Simulated, settings_for
from tests.streams.pollers.passes import (
    assert_published_exactly,
    by_key,
    poll_under_faults,
    quick_retries,
    short_world,
)
from tests.streams.topic_reader import read_topic
from usagemart.settings import Settings

SOURCE = quick_retries(product.SOURCE)
SHORT_WORLD_DAYS = 30
"""Fault tests backfill a shorter world: still several usage pages, in a fraction of the time."""
CATALOG_TOPICS = tuple(f"ref.catalog.{name}" for name in vendor.CATALOGS)
TOPICS = ("raw.product.usage", *CATALOG_TOPICS, "ref.pricebook")
PATHS = ("/v1/usage", "/v1/catalog/*", "/v1/pricebook")
PAGED_PATHS = ("/v1/usage",)
FAULTS: list[dict[str, Any]] = [
    {"fault": "rate_limit", "times": 1, "retry_after": 1},
    {"fault": "rate_limit_no_retry_after", "times": 2},
    {"fault": "server_error", "times": 2},
    {"fault": "slow", "times": 1, "delay": 0.3},
    {"fault": "truncated", "times": 2},
    {"fault": "repeat_page", "times": 2},
]


def usage_key(row: dict[str, Any]) -> str:
    return natural_key("raw.product.usage", {**row, "report_date": date.fromisoformat(row["report_date"])})


def ground_truth(world: World, updated_since: datetime | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Per topic, natural key -> vendor row, from the world's functions."""
    since = None if updated_since is None else int(updated_since.timestamp())
    prices = {natural_key("ref.pricebook", {**row, "effective_date": date.fromisoformat(row["effective_date"])}): row
              for row in vendor.pricebook(world)}
    return {
        "raw.product.usage": {usage_key(row): row for row in vendor.usage(world, since)},
        **{f"ref.catalog.{name}": {row["code"]: row for row in vendor.catalog(world, name)} for name in vendor.CATALOGS},
        "ref.pricebook": prices,
    }


EXPECTED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # Per topic, what a vendor row's other fields must come out as.
    "raw.product.usage": lambda row: {"units_used": float(row["units_used"]), "status": row["status"],
                                      "updated_at": datetime.fromisoformat(row["updated_at"])},
    **{topic: lambda row: {"name": row["name"], "attributes": {key: str(value) for key, value in row.items()
                                                               if key not in ("code", "name", "updated_at")}}
       for topic in CATALOG_TOPICS},
    "ref.pricebook": lambda row: {"unit_price": str(row["unit_price"]), "currency_code": row["currency_code"],
                                  "plan_code": row["plan_code"] or ""},
}


def assert_backfilled(simulator: Simulated, bootstrap: str, run_id: str) -> None:
    """The pass published exactly the ground truth of the whole world, field values and raw rows included."""
    truth = ground_truth(simulator.world)
    assert_published_exactly({topic: truth[topic] for topic in TOPICS}, EXPECTED, bootstrap, run_id)


def test_backfill_publishes_exactly_the_ground_truth(simulator: Simulated, poll_settings: Settings) -> None:
    result = poll_once(SOURCE, poll_settings, since=simulator.first_day)

    assert_backfilled(simulator, poll_settings.bootstrap_servers, result.poll_run_id)
    newest = max(datetime.fromisoformat(row["updated_at"]) for row in vendor.usage(simulator.world))
    assert CheckpointStore(poll_settings.home / "checkpoints", "product").last_value("usage") == newest
    usage_pages = math.ceil(len(vendor.usage(simulator.world)) / feed.PAGE_LIMIT)
    assert result.requests == len(vendor.CATALOGS) + 1 + usage_pages


@pytest.mark.parametrize("rule", FAULTS, ids=[rule["fault"] for rule in FAULTS])
def test_each_fault_on_each_endpoint_still_yields_exactly_the_ground_truth(tmp_path: Path, raw_topics: str,
                                                                           rule: dict[str, Any]) -> None:
    paths = PAGED_PATHS if rule["fault"] == "repeat_page" else PATHS
    with short_world(SHORT_WORLD_DAYS) as simulator:
        result = poll_under_faults(SOURCE, simulator, settings_for(tmp_path, raw_topics, simulator.url), rule, paths)
        assert_backfilled(simulator, raw_topics, result.poll_run_id)


def test_the_checkpoint_stops_at_the_last_published_page(tmp_path: Path, raw_topics: str) -> None:
    rule = {"fault": "repeat_page", "path": "/v1/usage"}
    with short_world(SHORT_WORLD_DAYS) as simulator:
        httpx.post(f"{simulator.url}/_sim/faults", json={"rules": [rule]}).raise_for_status()

        with pytest.raises(MalformedPage, match="^product GET /v1/usage .*the page repeats"):
            poll_once(SOURCE, settings_for(tmp_path, raw_topics, simulator.url), since=simulator.first_day)

    state = CheckpointStore(tmp_path / "checkpoints", "product").get("usage")
    first_page = [record.value for record in read_topic(raw_topics, "raw.product.usage",
                                                        run_ids={state["poll_run_id"]})]
    assert len(first_page) == feed.PAGE_LIMIT
    assert datetime.fromisoformat(state["last_value"]) == max(value["updated_at"] for value in first_page)


def test_restated_rows_are_re_read_and_nothing_older(simulator: Simulated, poll_settings: Settings) -> None:
    world, bootstrap = simulator.world, poll_settings.bootstrap_servers
    first = poll_once(SOURCE, poll_settings, since=simulator.first_day)
    checkpoint = CheckpointStore(poll_settings.home / "checkpoints", "product").last_value("usage")
    assert checkpoint is not None
    httpx.post(f"{simulator.url}/_sim/advance", json={"revisions": 1}).raise_for_status()
    requests_before = httpx.get(f"{simulator.url}/_sim/stats").json()["total"]

    second = poll_once(SOURCE, poll_settings)

    window = checkpoint - timedelta(days=poll_settings.product_restatement_days)
    before = by_key("raw.product.usage", read_topic(bootstrap, "raw.product.usage", run_ids={first.poll_run_id}))
    after = by_key("raw.product.usage", read_topic(bootstrap, "raw.product.usage", run_ids={second.poll_run_id}))
    assert after.keys() == ground_truth(world, window)["raw.product.usage"].keys()
    assert min(value["updated_at"] for value in after.values()) >= window
    newer = [key for key, value in after.items() if value["updated_at"] > before[key]["updated_at"]]
    assert newer
    assert all(after[key]["updated_at"] == datetime.fromtimestamp(world.revised_at(1), UTC) for key in newer)
    stats = httpx.get(f"{simulator.url}/_sim/stats").json()
    second_requests = stats["recent"][requests_before - stats["total"]:]
    assert {parse_qs(request["query"])["updated_since"][0] for request in second_requests
            if request["path"] == "/v1/usage"} == {rfc3339(window)}


def test_a_mistyped_page_is_retried_then_reported(simulator: Simulated, poll_settings: Settings) -> None:
    def mistyped(body: Any) -> dict[str, Any]:
        row = {**body["data"][0], "units_used": "many"}
        return feed._parse_page("raw.product.usage", "updated_at", None, {**body, "data": [row]})

    http = SOURCE.client(poll_settings)
    try:
        with pytest.raises(MalformedPage, match=r"^product GET /v1/usage .*units_used: expected a number"):
            http.page("GET", "/v1/usage", mistyped)
        assert http.requests_made == http.retry.attempts
    finally:
        http.close()
