"""The Anthropic poller against the simulator over HTTP, into the real broker."""

from __future__ import annotations

import httpx

from streams.pollers import anthropic
from streams.pollers.source import poll_once
from tests.streams.pollers.anthropic_truth import MEASURED, assert_backfilled, backfill_rows, measure, restated
from tests.streams.pollers.conftest import Simulated
from tests.streams.topic_reader import read_topic
from usagemart.settings import Settings


def test_backfill_publishes_exactly_the_ground_truth(simulator: Simulated, poll_settings: Settings) -> None:
    result = poll_once(anthropic.SOURCE, poll_settings, since=simulator.first_day)
    expected = backfill_rows(simulator.world, simulator.first_day)
    published = assert_backfilled(poll_settings.bootstrap_servers, expected, {result.poll_run_id})
    assert all(published.values())


def test_restated_days_arrive_as_newer_records(simulator: Simulated, poll_settings: Settings) -> None:
    first = poll_once(anthropic.SOURCE, poll_settings, since=simulator.first_day)
    httpx.post(f"{simulator.url}/_sim/advance", json={"revisions": 1}).raise_for_status()
    second = poll_once(anthropic.SOURCE, poll_settings)
    truth = backfill_rows(simulator.world, simulator.first_day)
    for topic, field in MEASURED.items():
        records = read_topic(poll_settings.bootstrap_servers, topic, run_ids={first.poll_run_id, second.poll_run_id})
        before = {r.key: r for r in records if r.headers["poll_run_id"] == first.poll_run_id.encode()}
        after = {r.key: r for r in records if r.headers["poll_run_id"] == second.poll_run_id.encode()}
        restated_keys = {key for key, row in truth[topic].items() if restated(simulator.world, topic, row)}
        assert restated_keys and restated_keys <= set(after), f"{topic}: restated rows were not re-read"
        changed = {key for key in restated_keys & set(before) if after[key].value[field] != before[key].value[field]}
        assert changed, f"{topic}: no restated value changed"
        for key in changed:
            assert after[key].value[field] == measure(topic, truth[topic][key])
            assert after[key].partition == before[key].partition and after[key].offset > before[key].offset
