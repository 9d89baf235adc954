"""The funnel poller against the simulator over HTTP, publishing to the real broker."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.pollers import funnel
from streams.pollers.checkpoint import CheckpointStore
from streams.pollers.feed import PAGE_LIMIT
from streams.pollers.source import poll_once
from streams.simulator import funnel as vendor
from tests.streams.pollers.conftest import Simulated, settings_for
from tests.streams.pollers.passes import assert_feed_published, quick_retries, short_world
from usagemart.settings import Settings

SOURCE = quick_retries(funnel.SOURCE)
RESOURCES = tuple(vendor.API.resources)
SHORT_WORLD_DAYS = 20
FAULTS: list[dict[str, Any]] = [
    {"fault": "rate_limit", "times": 1, "retry_after": 1},
    {"fault": "server_error", "times": 2},
    {"fault": "truncated", "times": 2},
    {"fault": "repeat_page", "times": 2},
]


def newest(simulated: Simulated, resource: str) -> datetime:
    """The newest change time of a resource in the simulator's world."""
    field = vendor.API.resources[resource].time_field
    return datetime.fromisoformat(vendor.API.feed(simulated.world, resource).rows[-1][field].replace("Z", "+00:00"))


def test_backfill_publishes_exactly_the_ground_truth(simulator: Simulated, poll_settings: Settings) -> None:
    result = poll_once(SOURCE, poll_settings, since=simulator.first_day)

    store = CheckpointStore(poll_settings.home / "checkpoints", "funnel")
    for resource in RESOURCES:
        assert_feed_published(vendor.API, resource, simulator.world, poll_settings.bootstrap_servers,
                              {result.poll_run_id})
        assert store.last_value(resource) == newest(simulator, resource)
    pages = sum(math.ceil(len(vendor.API.feed(simulator.world, resource).rows) / PAGE_LIMIT)
                for resource in RESOURCES)
    assert result.requests == pages


@pytest.mark.parametrize("rule", FAULTS, ids=[rule["fault"] for rule in FAULTS])
def test_faults_still_yield_exactly_the_ground_truth(tmp_path: Path, raw_topics: str, rule: dict[str, Any]) -> None:
    with short_world(SHORT_WORLD_DAYS) as simulated:
        httpx.post(f"{simulated.url}/_sim/faults", json={"rules": [{**rule, "path": "/v1/funnel/*"}]}
                   ).raise_for_status()

        result = poll_once(SOURCE, settings_for(tmp_path, raw_topics, simulated.url), since=simulated.first_day)

        assert httpx.get(f"{simulated.url}/_sim/faults").json()["rules"][0]["fired"] == rule["times"]
        for resource in RESOURCES:
            assert_feed_published(vendor.API, resource, simulated.world, raw_topics, {result.poll_run_id})


def test_cancellations_are_re_read_and_nothing_older(simulator: Simulated, poll_settings: Settings) -> None:
    poll_once(SOURCE, poll_settings, since=simulator.first_day)
    store = CheckpointStore(poll_settings.home / "checkpoints", "funnel")
    checkpoints = {resource: store.last_value(resource) for resource in RESOURCES}
    httpx.post(f"{simulator.url}/_sim/advance", json={"revisions": 1}).raise_for_status()

    second = poll_once(SOURCE, poll_settings)

    lag = timedelta(days=poll_settings.funnel_restatement_days)
    for resource, checkpoint in checkpoints.items():
        assert checkpoint is not None
        assert_feed_published(vendor.API, resource, simulator.world, poll_settings.bootstrap_servers,
                              {second.poll_run_id}, since=checkpoint - lag)
    canceled = datetime.fromtimestamp(simulator.world.revised_at(1), UTC)
    assert store.last_value("subscriptions") == canceled == newest(simulator, "subscriptions")


def test_a_first_run_reads_funnels_whole_and_the_rest_from_the_lookback(simulator: Simulated,
                                                                       poll_settings: Settings) -> None:
    started = datetime.now(UTC)
    result = poll_once(SOURCE, poll_settings)

    assert result.records["funnels"] == len(vendor.FUNNELS)
    lookback = timedelta(days=30)
    sessions = vendor.sessions(simulator.world)
    recent = [row for row in sessions if row["updated_at"] >= (started - lookback).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert 0 < len(recent) < len(sessions)
    assert len(recent) - 2 <= result.records["sessions"] <= len(recent) + 2
