"""The helpdesk poller against the simulator over HTTP, publishing to the real broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from streams.pollers import helpdesk
from streams.pollers.checkpoint import CheckpointStore
from streams.pollers.source import poll_once
from streams.simulator import helpdesk as vendor
from tests.streams.pollers.conftest import Simulated, settings_for
from tests.streams.pollers.passes import assert_feed_published, quick_retries, short_world
from usagemart.settings import Settings

SOURCE = quick_retries(helpdesk.SOURCE)
RESOURCES = tuple(vendor.API.resources)
SHORT_WORLD_DAYS = 20
FAULTS: list[dict[str, Any]] = [
    {"fault": "rate_limit_no_retry_after", "times": 2},
    {"fault": "overloaded", "times": 2},
    {"fault": "truncated", "times": 2},
    {"fault": "repeat_page", "times": 1},
]


def test_backfill_publishes_exactly_the_ground_truth(simulator: Simulated, poll_settings: Settings) -> None:
    result = poll_once(SOURCE, poll_settings, since=simulator.first_day)

    for resource in RESOURCES:
        assert_feed_published(vendor.API, resource, simulator.world, poll_settings.bootstrap_servers,
                              {result.poll_run_id})
    newest_login = datetime.fromisoformat(vendor.logins(simulator.world)[-1]["at"].replace("Z", "+00:00"))
    assert CheckpointStore(poll_settings.home / "checkpoints", "helpdesk").last_value("logins") == newest_login


@pytest.mark.parametrize("rule", FAULTS, ids=[rule["fault"] for rule in FAULTS])
def test_faults_still_yield_exactly_the_ground_truth(tmp_path: Path, raw_topics: str, rule: dict[str, Any]) -> None:
    with short_world(SHORT_WORLD_DAYS) as simulated:
        httpx.post(f"{simulated.url}/_sim/faults", json={"rules": [{**rule, "path": "/v1/helpdesk/*"}]}
                   ).raise_for_status()

        result = poll_once(SOURCE, settings_for(tmp_path, raw_topics, simulated.url), since=simulated.first_day)

        assert httpx.get(f"{simulated.url}/_sim/faults").json()["rules"][0]["fired"] == rule["times"]
        for resource in RESOURCES:
            assert_feed_published(vendor.API, resource, simulated.world, raw_topics, {result.poll_run_id})


def test_resolutions_are_re_read_and_nothing_older(simulator: Simulated, poll_settings: Settings) -> None:
    first = poll_once(SOURCE, poll_settings, since=simulator.first_day)
    store = CheckpointStore(poll_settings.home / "checkpoints", "helpdesk")
    checkpoint = store.last_value("tickets")
    assert checkpoint is not None
    httpx.post(f"{simulator.url}/_sim/advance", json={"revisions": 1}).raise_for_status()

    second = poll_once(SOURCE, poll_settings)

    since = checkpoint - timedelta(days=poll_settings.helpdesk_restatement_days)
    assert_feed_published(vendor.API, "tickets", simulator.world, poll_settings.bootstrap_servers,
                          {second.poll_run_id}, since=since)
    resolved_at = datetime.fromtimestamp(simulator.world.revised_at(1), UTC)
    assert store.last_value("tickets") == resolved_at
    assert 0 < second.records["tickets"] < first.records["tickets"]
