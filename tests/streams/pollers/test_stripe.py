"""The Stripe poller against the simulator over HTTP, into the real broker.

`/_sim/advance` leaves Stripe alone (it does not restate) and a world's present is fixed, so a
change after the backfill is made by serving the same seeded world at two instants: the backfill
reads it before the change, the next pass reads it after.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from streams.pollers import stripe
from streams.pollers.checkpoint import CheckpointStore
from streams.pollers.source import poll_once
from streams.simulator import stripe as vendor
from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from tests.streams.pollers.conftest import WORLD_DAYS, Simulated, settings_for
from tests.streams.topic_reader import TopicRecord, read_topic
from usagemart.settings import Settings

TOPIC = "raw.stripe.charges"
STATE = ("amount", "amount_captured", "amount_refunded", "currency", "status", "paid", "refunded", "customer",
         "failure_code", "metadata")
LAG_DAYS = 3


def test_backfill_publishes_every_charge_once_in_its_latest_state(simulator: Simulated,
                                                                 poll_settings: Settings) -> None:
    result = poll_once(stripe.SOURCE, poll_settings, since=simulator.first_day)
    records = read_topic(poll_settings.bootstrap_servers, TOPIC, run_ids={result.poll_run_id})
    truth = {charge["id"]: charge for charge in vendor.charges(simulator.world)}
    assert sorted(record.key for record in records) == sorted(truth)
    for record in records:
        assert _state(record.value) == _state(truth[record.key])
        assert record.value["created"] == datetime.fromtimestamp(truth[record.key]["created"], UTC)
        assert record.headers["source"] == b"stripe"
        datetime.fromisoformat(record.headers["fetched_at"].decode())
    assert _requests(simulator.url) == {"/v1/charges": result.requests}


def test_a_refund_or_capture_after_the_backfill_arrives_through_events(tmp_path: Path, raw_topics: str) -> None:
    later = World.ending_now(7, WORLD_DAYS)
    changes = [_last(later, "charge.refunded"), _last(later, "charge.captured")]
    earlier = World(seed=later.seed, start=later.start, days=later.days,
                    now=datetime.fromtimestamp(min(event["created"] for event in changes) - 1, UTC))
    with serve_in_thread(build_app(earlier)) as url:
        backfill = poll_once(stripe.SOURCE, _settings(tmp_path, raw_topics, url),
                             since=datetime.combine(later.start, datetime.min.time(), UTC))
    with serve_in_thread(build_app(later)) as url:
        incremental = poll_once(stripe.SOURCE, _settings(tmp_path, raw_topics, url))
        assert _requests(url) == {"/v1/events": incremental.requests}
    records = read_topic(raw_topics, TOPIC, run_ids={backfill.poll_run_id, incremental.poll_run_id})
    first = _latest(records, backfill.poll_run_id)
    second = _latest(records, incremental.poll_run_id)
    now = {charge["id"]: charge for charge in vendor.charges(later)}
    then = {charge["id"]: charge for charge in vendor.charges(earlier)}
    assert set(first) | set(second) == set(now)
    changed = {charge_id for charge_id, charge in then.items() if _state(charge) != _state(now[charge_id])}
    assert {event["data"]["object"]["id"] for event in changes} <= changed
    for charge_id in changed | (set(now) - set(then)):
        assert _state(second[charge_id].value) == _state(now[charge_id])
    for charge_id in changed:
        assert _state(first[charge_id].value) == _state(then[charge_id])
        assert second[charge_id].partition == first[charge_id].partition
        assert second[charge_id].offset > first[charge_id].offset


def test_a_checkpoint_past_the_event_retention_falls_back_to_listing_charges(simulator: Simulated,
                                                                            poll_settings: Settings) -> None:
    checkpoint = datetime.fromtimestamp(simulator.world.now_ts, UTC) - timedelta(days=40)
    CheckpointStore(poll_settings.home / "checkpoints", "stripe").save("charges", checkpoint)
    result = poll_once(stripe.SOURCE, poll_settings)
    records = read_topic(poll_settings.bootstrap_servers, TOPIC, run_ids={result.poll_run_id})
    since = checkpoint - timedelta(days=poll_settings.stripe_restatement_days)
    truth = {charge["id"] for charge in vendor.charges(simulator.world) if charge["created"] >= since.timestamp()}
    assert {record.key for record in records} == truth
    assert _requests(simulator.url) == {"/v1/charges": result.requests}


def _last(world: World, kind: str) -> dict[str, Any]:
    """The newest event of `kind`, recent enough for the next pass's re-read window to hold it."""
    recent = world.now_ts - (LAG_DAYS - 1) * 86_400
    event = next((event for event in vendor.events(world) if event["type"] == kind), None)
    assert event is not None and event["created"] > recent, f"no {kind} in the simulated world's last days"
    return event


def _settings(home: Path, bootstrap: str, url: str) -> Settings:
    return settings_for(home, bootstrap, url, stripe_restatement_days=LAG_DAYS)


def _requests(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/_sim/stats").json()["by_path"]  # type: ignore[no-any-return]


def _latest(records: list[TopicRecord], run_id: str) -> dict[str, TopicRecord]:
    return {record.key: record for record in records if record.headers["poll_run_id"] == run_id.encode()}


def _state(charge: dict[str, Any]) -> dict[str, Any]:
    return {name: charge[name] for name in STATE}
