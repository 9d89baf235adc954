"""SIGKILL the worker again and again while it consumes a backlog: nothing lost, nothing doubled.

Each run is killed once it has landed a batch and a half more since it started, i.e. with at
least one batch committed and the next one somewhere between its first insert and its commit.
The run after it redelivers that batch; the `event_id`-keyed tables must absorb it.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
from clickhouse_connect.driver.client import Client

from streams.simulator.world import World
from tests.streams.worker.backlog import publish_world
from tests.streams.worker.ground_truth import assert_events_equal_truth, landed
from tests.streams.worker.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

KILLS = 3
KILL_AFTER_ROWS = 15_000
"""Landing rows a run writes before it is killed: one and a half of the worker's 10k-record batches."""


def landing_rows(client: Client) -> int:
    """Landing rows as inserted, redelivered copies included (no FINAL)."""
    return int(client.command("SELECT sum(rows) FROM system.parts WHERE database = currentDatabase() "
                              "AND active AND startsWith(table, 'raw_')") or 0)


def kill_while_consuming(worker: WorkerProcess, client: Client, counts: dict[str, int],
                         timeout: float = 60.0) -> tuple[int, int]:
    """Start the worker and SIGKILL it once it has landed `KILL_AFTER_ROWS` more rows.

    Returns the records not committed, and those landed but not committed (to be redelivered).
    """
    before = landing_rows(client)
    worker.start()
    deadline = time.monotonic() + timeout
    while landing_rows(client) < before + KILL_AFTER_ROWS:
        assert worker.alive(), f"the worker exited by itself; see {worker.log}"
        assert time.monotonic() < deadline, f"no progress in {timeout:.0f}s; see {worker.log}"
        time.sleep(0.05)
    worker.kill()
    lag = worker.lag()
    return lag, sum(landed(client, topic) for topic in counts) - (sum(counts.values()) - lag)


def test_killed_three_times_while_consuming_the_tables_equal_the_truth(broker: str, worker: WorkerProcess,
                                                                      client: Client) -> None:
    world = World(seed=3, start=date(2026, 1, 1), days=90)
    counts = publish_world(broker, world)

    kills = [kill_while_consuming(worker, client, counts) for _ in range(KILLS)]
    worker.start()
    worker.wait_caught_up()

    lags = [lag for lag, _ in kills]
    assert lags == sorted(set(lags), reverse=True) and lags[-1] > 0, f"every run progressed, none finished: {kills}"
    assert any(in_flight for _, in_flight in kills), f"no kill caught a batch between insert and commit: {kills}"
    assert {topic: landed(client, topic) for topic in counts} == counts
    assert_events_equal_truth(client, world)
