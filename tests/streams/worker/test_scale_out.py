"""Two workers as one deployment split the raw partitions and together write exactly the truth."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka.admin import AdminClient

from streams.simulator.world import World
from tests.streams.worker.backlog import publish_world
from tests.streams.worker.ground_truth import assert_events_equal_truth, landed
from tests.streams.worker.worker_process import INGEST_GROUP, WorkerProcess
from usagemart.settings import ClickHouseTarget

pytestmark = pytest.mark.integration


def wait_for_members(bootstrap: str, count: int, timeout: float = 60.0) -> None:
    """Wait until the ingest group has `count` members with partitions."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    while True:
        group = admin.describe_consumer_groups([INGEST_GROUP])[INGEST_GROUP].result(10)
        assigned = [member for member in group.members if member.assignment.topic_partitions]
        if len(assigned) == count:
            return
        assert time.monotonic() < deadline, f"{len(assigned)} of {count} workers joined the ingest group"
        time.sleep(0.5)


def test_two_workers_split_the_partitions_and_write_the_truth(broker: str, database: ClickHouseTarget,
                                                              client: Client, tmp_path: Path) -> None:
    workers = [WorkerProcess(broker, database, tmp_path / f"worker-{index}") for index in range(2)]
    try:
        for worker in workers:
            worker.start()
        wait_for_members(broker, len(workers))
        world = World(seed=5, start=date(2026, 1, 1), days=60)
        counts = publish_world(broker, world)
        workers[0].wait_caught_up()

        consumed = [worker.metric("usagemart_records_consumed_total") for worker in workers]
        assert all(consumed), f"both workers took records: {consumed}"
        assert sum(consumed) >= sum(counts.values())
        assert {topic: landed(client, topic) for topic in counts} == counts
        assert_events_equal_truth(client, world)
    finally:
        for worker in workers:
            worker.stop()
