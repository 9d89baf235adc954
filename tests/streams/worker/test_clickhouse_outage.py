"""ClickHouse goes away while the worker consumes a backlog: it waits, commits nothing, then catches up.

The module runs its own embedded ClickHouse endpoint, so it can stop it and start it again on
the same port and data directory while the worker keeps running.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from clickhouse.client import connect
from clickhouse.endpoint import endpoint_service
from streams.simulator.world import World
from tests.streams.worker.backlog import publish_world
from tests.streams.worker.conftest import migrated_database
from tests.streams.worker.ground_truth import assert_events_equal_truth, landed
from tests.streams.worker.worker_process import WorkerProcess
from usagemart.processes import BackgroundService, free_port
from usagemart.settings import ClickHouseTarget

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 8.0
SETTLE_SECONDS = 1.0
"""Long enough for a batch whose inserts were all done before the outage to commit."""


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory, port: int) -> Iterator[BackgroundService]:
    """An embedded ClickHouse endpoint of this module's own."""
    root = Path(tmp_path_factory.mktemp("clickhouse"))
    service = endpoint_service(root / "data", root / "run", port=port)
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def database(endpoint: BackgroundService, port: int) -> Iterator[ClickHouseTarget]:
    """A migrated database on the module's endpoint."""
    yield from migrated_database(ClickHouseTarget(f"http://127.0.0.1:{port}/usage_mart"))


def wait_for_rows(client: Client, timeout: float = 60.0) -> None:
    """Wait until the worker has landed its first rows."""
    deadline = time.monotonic() + timeout
    while not client.command("SELECT count() FROM raw_cursor_usage_events"):
        assert time.monotonic() < deadline, "the worker landed nothing"
        time.sleep(0.05)


def test_the_worker_waits_out_an_outage_then_catches_up(broker: str, endpoint: BackgroundService,
                                                         database: ClickHouseTarget, worker: WorkerProcess) -> None:
    world = World(seed=4, start=date(2026, 1, 1), days=30)
    counts = publish_world(broker, world)
    worker.start()
    with connect(database) as client:
        wait_for_rows(client)

    endpoint.stop()
    time.sleep(SETTLE_SECONDS)
    lag_when_stopped = worker.lag()
    time.sleep(OUTAGE_SECONDS)

    assert worker.alive()
    assert worker.metric("usagemart_insert_retries_total") > 0
    assert worker.lag() == lag_when_stopped > 0, "offsets were committed while ClickHouse was away"
    endpoint.start()
    worker.wait_caught_up()
    assert worker.alive()
    with connect(database) as client:
        assert {topic: landed(client, topic) for topic in counts} == counts
        assert_events_equal_truth(client, world)
