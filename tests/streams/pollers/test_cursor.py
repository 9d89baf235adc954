"""The Cursor poller against the simulator over HTTP, publishing to the real broker."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.contracts import natural_key
from streams.pollers import cursor
from streams.pollers.checkpoint import CheckpointStore
from streams.pollers.source import poll_once
from streams.pollers.vendor_http import MalformedPage
from streams.simulator import cursor as vendor
from streams.simulator.world import World
from tests.streams.pollers.conftest import WORLD_DAYS, Simulated, settings_for
from tests.streams.pollers.passes import (
    assert_published_exactly,
    by_key,
    poll_under_faults,
    quick_retries,
    short_world,
)
from tests.streams.topic_reader import read_topic
from usagemart.settings import ConfigError, Settings

SOURCE = quick_retries(cursor.SOURCE)
SHORT_WORLD_DAYS = 30
"""Fault tests backfill a shorter world: still two windows and several event pages, in a fraction of the time."""
TOPICS = ("raw.cursor.members", "raw.cursor.daily_usage", "raw.cursor.usage_events", "raw.cursor.spend")
PATHS = ("/teams/members", "/teams/daily-usage-data", "/teams/filtered-usage-events", "/teams/spend")
PAGED_PATHS = ("/teams/filtered-usage-events", "/teams/spend")
FAULTS: list[dict[str, Any]] = [
    {"fault": "rate_limit", "times": 1, "retry_after": 1},
    {"fault": "rate_limit_no_retry_after", "times": 2},
    {"fault": "server_error", "times": 2},
    {"fault": "slow", "times": 1, "delay": 0.3},
    {"fault": "truncated", "times": 2},
    {"fault": "repeat_page", "times": 2},
]
EXPECTED: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    # Per topic, what a vendor row's other fields must come out as.
    "raw.cursor.members": lambda row: {"name": row["name"], "role": row["role"], "id": str(row["id"]),
                                       "isRemoved": row["isRemoved"]},
    "raw.cursor.daily_usage": lambda row: {"userId": str(row["userId"]), "day": date.fromisoformat(row["day"]),
                                           "totalLinesAdded": row["totalLinesAdded"],
                                           "mostUsedModel": row["mostUsedModel"]},
    "raw.cursor.usage_events": lambda row: {"requestsCosts": row["requestsCosts"], "maxMode": row["maxMode"],
                                            "tokenUsage_totalCents": row.get("tokenUsage", {}).get("totalCents")},
    "raw.cursor.spend": lambda row: {"spendCents": row["spendCents"], "role": row["role"],
                                     "hardLimitOverrideDollars": row["hardLimitOverrideDollars"]},
}


def ground_truth(world: World, start: datetime) -> dict[str, dict[str, dict[str, Any]]]:
    """Per topic, natural key -> vendor row, from the world's functions, for data since `start`."""
    start_ms, end_ms = int(start.timestamp()) * 1000, world.now_ts * 1000
    events: dict[str, dict[str, Any]] = {}
    repeats: Counter[tuple[str, str, str, str]] = Counter()
    for event in vendor.usage_events(world, start_ms, end_ms):
        identity = (event["timestamp"], event["userEmail"], event["model"], event["kind"])
        key = {"timestamp": int(event["timestamp"]), "userEmail": event["userEmail"], "model": event["model"],
               "kind": event["kind"], "ordinal": repeats[identity]}
        events[natural_key("raw.cursor.usage_events", key)] = event
        repeats[identity] += 1
    cycle = vendor.cycle_start_ms(world)
    return {
        "raw.cursor.members": {natural_key("raw.cursor.members", row): row for row in vendor.members(world)},
        "raw.cursor.daily_usage": {natural_key("raw.cursor.daily_usage", row): row
                                   for row in vendor.daily_usage(world, start_ms, end_ms)},
        "raw.cursor.usage_events": events,
        "raw.cursor.spend": {natural_key("raw.cursor.spend", {**row, "subscriptionCycleStart": cycle}): row
                             for row in vendor.spend(world)},
    }


def assert_backfilled(simulator: Simulated, bootstrap: str, run_id: str) -> None:
    """The pass published exactly the ground truth of the whole world, field values and raw rows included."""
    truth = ground_truth(simulator.world, simulator.first_day)
    assert_published_exactly({topic: truth[topic] for topic in TOPICS}, EXPECTED, bootstrap, run_id)


def test_backfill_publishes_exactly_the_ground_truth(simulator: Simulated, poll_settings: Settings) -> None:
    result = poll_once(SOURCE, poll_settings, since=simulator.first_day)

    assert_backfilled(simulator, poll_settings.bootstrap_servers, result.poll_run_id)
    checkpoints = CheckpointStore(poll_settings.home / "checkpoints", "cursor")
    today = datetime.combine(simulator.world.last_day, time(), UTC)
    assert checkpoints.last_value("daily_usage") == checkpoints.last_value("usage_events") == today
    assert result.requests == httpx.get(f"{simulator.url}/_sim/stats").json()["total"]


@pytest.mark.parametrize("rule", FAULTS, ids=[rule["fault"] for rule in FAULTS])
def test_each_fault_on_each_endpoint_still_yields_exactly_the_ground_truth(
        tmp_path: Path, raw_topics: str, rule: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    # Spend fits one page at the vendor's page size; smaller pages put its pagination under the faults too.
    monkeypatch.setattr(cursor, "SPEND_PAGE_SIZE", 10)
    paths = PAGED_PATHS if rule["fault"] == "repeat_page" else PATHS
    with short_world(SHORT_WORLD_DAYS) as simulator:
        result = poll_under_faults(SOURCE, simulator, settings_for(tmp_path, raw_topics, simulator.url), rule, paths)
        assert_backfilled(simulator, raw_topics, result.poll_run_id)


def test_a_page_failing_every_retry_is_reported_and_not_checkpointed(tmp_path: Path, raw_topics: str) -> None:
    rule = {"fault": "repeat_page", "path": "/teams/filtered-usage-events"}
    with short_world(SHORT_WORLD_DAYS) as simulator:
        httpx.post(f"{simulator.url}/_sim/faults", json={"rules": [rule]}).raise_for_status()

        with pytest.raises(MalformedPage, match=r"^cursor POST /teams/filtered-usage-events .*asked for page 2"):
            poll_once(SOURCE, settings_for(tmp_path, raw_topics, simulator.url), since=simulator.first_day)

    checkpoints = CheckpointStore(tmp_path / "checkpoints", "cursor")
    run_id = checkpoints.get("daily_usage")["poll_run_id"]
    assert checkpoints.get("usage_events") == {}
    assert len(read_topic(raw_topics, "raw.cursor.usage_events", run_ids={run_id})) == cursor.EVENTS_PAGE_SIZE
    assert read_topic(raw_topics, "raw.cursor.spend", run_ids={run_id}) == []


def test_restated_days_are_re_read_and_nothing_older(simulator: Simulated, poll_settings: Settings) -> None:
    world, bootstrap = simulator.world, poll_settings.bootstrap_servers
    first = poll_once(SOURCE, poll_settings, since=simulator.first_day + timedelta(days=WORLD_DAYS - 7))
    checkpoint = CheckpointStore(poll_settings.home / "checkpoints", "cursor").last_value("daily_usage")
    assert checkpoint is not None
    httpx.post(f"{simulator.url}/_sim/advance", json={"revisions": 1}).raise_for_status()

    second = poll_once(SOURCE, poll_settings)

    window = checkpoint - timedelta(days=poll_settings.cursor_restatement_days)
    truth = ground_truth(world, window)
    before = by_key("raw.cursor.daily_usage", read_topic(bootstrap, "raw.cursor.daily_usage",
                                                         run_ids={first.poll_run_id}))
    after = by_key("raw.cursor.daily_usage", read_topic(bootstrap, "raw.cursor.daily_usage",
                                                        run_ids={second.poll_run_id}))
    events = by_key("raw.cursor.usage_events", read_topic(bootstrap, "raw.cursor.usage_events",
                                                          run_ids={second.poll_run_id}))
    assert after.keys() == truth["raw.cursor.daily_usage"].keys()
    assert min(value["date"] for value in after.values()) == window
    assert events.keys() == truth["raw.cursor.usage_events"].keys()
    assert min(value["timestamp"] for value in events.values()) >= window
    restated = [key for key, value in after.items() if value["totalLinesAdded"] != before[key]["totalLinesAdded"]]
    assert restated
    assert all(after[key]["totalLinesAdded"] == truth["raw.cursor.daily_usage"][key]["totalLinesAdded"]
               for key in restated)
    # Members, one daily-usage window, the window's event pages, spend.
    assert second.requests == 3 + math.ceil(len(events) / cursor.EVENTS_PAGE_SIZE)


def test_a_missing_api_key_names_the_variable(poll_settings: Settings) -> None:
    settings = poll_settings.model_copy(update={"cursor_api_key": None})

    with pytest.raises(ConfigError, match="CURSOR_API_KEY"):
        poll_once(SOURCE, settings)
