"""Simulator -> pollers -> worker -> ClickHouse, then replay and rebuild over what it wrote.

The worker runs as `usagemart worker` while the Anthropic and Cursor pollers backfill the
simulator's world over HTTP into the module's own broker; once it has committed everything,
its tables must equal the world's ground truth. Replay re-reads the raw topics through the same
path and must converge on the same rows; `--rebuild` must produce the same tables afresh.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from streams.ingest import INGESTED_TOPICS
from streams.offsets import offset_range
from streams.pollers import source
from streams.pollers.source import poll_once
from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from tests.streams.pollers.conftest import settings_for
from tests.streams.worker.ground_truth import assert_events_equal_truth, landed, money_sums
from tests.streams.worker.worker_process import WorkerProcess
from usagemart.settings import ClickHouseTarget

pytestmark = pytest.mark.integration

WORLD_DAYS = 30
EVENT_TABLES = ("usage_events", "cost_events")
Rows = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def world() -> World:
    return World.ending_now(11, WORLD_DAYS)


@pytest.fixture(scope="module")
def published(broker: str, worker: WorkerProcess, world: World, tmp_path_factory: pytest.TempPathFactory) -> int:
    """Backfill both vendors while the worker runs; wait until it has committed everything."""
    worker.start()
    first_day = datetime.combine(world.start, time(), UTC)
    with serve_in_thread(build_app(world)) as url:
        settings = settings_for(tmp_path_factory.mktemp("pollers"), broker, url)
        counts = [poll_once(source(name), settings, since=first_day).records for name in ("anthropic", "cursor")]
    worker.wait_caught_up()
    return sum(sum(records.values()) for records in counts)


@pytest.fixture(scope="module")
def converged(published: int, worker: WorkerProcess, client: Client) -> Rows:
    """The event tables FINAL once the worker caught up; the worker is stopped, so replays run alone."""
    worker.stop()
    return event_rows(client)


def test_sums_per_platform_and_day_equal_the_simulator(converged: Rows, client: Client, world: World) -> None:
    assert_events_equal_truth(client, world)


def test_reported_and_estimated_costs_are_kept_apart(converged: Rows, client: Client) -> None:
    kinds = {(platform, kind) for platform, kind, _ in money_sums(client)}

    assert kinds == {("anthropic_api", "reported"), ("anthropic_api", "estimated"), ("cursor", "reported"),
                     ("claude_code", "estimated")}


def test_every_raw_record_landed_once(converged: Rows, client: Client, broker: str, published: int) -> None:
    per_topic = end_offsets(broker)

    assert {topic: landed(client, topic) for topic in per_topic} == per_topic
    assert sum(per_topic.values()) == published
    assert client.command("SELECT count() FROM dlq_records") == 0


def test_replay_after_the_worker_converges_to_the_same_rows(converged: Rows, client: Client,
                                                            database: ClickHouseTarget, broker: str,
                                                            tmp_path: Path) -> None:
    output = usagemart(["replay", "--from", "earliest"], broker, database, tmp_path)

    assert f"replayed {sum(end_offsets(broker).values())} records" in output
    assert event_rows(client) == converged


def test_replay_from_a_time_of_some_topics_converges_too(converged: Rows, client: Client,
                                                         database: ClickHouseTarget, broker: str,
                                                         tmp_path: Path) -> None:
    usagemart(["replay", "--from", datetime.now(UTC).date().isoformat(), "--topics", "raw.cursor.usage_events",
               "--topics", "raw.anthropic.usage"], broker, database, tmp_path)

    assert event_rows(client) == converged


def test_rebuild_gives_identical_tables(converged: Rows, client: Client, database: ClickHouseTarget, broker: str,
                                        tmp_path: Path) -> None:
    usagemart(["replay", "--rebuild"], broker, database, tmp_path)

    assert event_rows(client) == converged
    # Rebuilt afresh: one row per event, not the earlier copies.
    assert client.command("SELECT count() FROM usage_events") == len(converged["usage_events"])
    assert not client.command("SELECT count() FROM system.tables WHERE database = currentDatabase() "
                              "AND name LIKE '%__rebuild'")


def event_rows(client: Client) -> Rows:
    """Every column but `ingested_at` of each event table, FINAL, in event id order."""
    return {table: client.query(f"SELECT * EXCEPT ingested_at FROM {table} FINAL ORDER BY event_id").result_rows
            for table in EVENT_TABLES}


def end_offsets(bootstrap: str) -> dict[str, int]:
    """Records on each non-empty raw or reference topic."""
    _, ends = offset_range(bootstrap, INGESTED_TOPICS, None)
    totals: dict[str, int] = {}
    for (topic, _), end in ends.items():
        totals[topic] = totals.get(topic, 0) + end
    return {topic: total for topic, total in totals.items() if total}


def usagemart(arguments: list[str], bootstrap: str, target: ClickHouseTarget, home: Path) -> str:
    """Run a `usagemart` command against the module's broker and database; it must succeed. Its output."""
    url = f"http://{target.username}:{target.password}@{target.host}:{target.port}/{target.database}"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "CLICKHOUSE_URL": url, "USAGEMART_HOME": str(home)}
    result = subprocess.run([str(Path(sys.executable).with_name("usagemart")), *arguments], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
