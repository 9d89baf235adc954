"""The worker under test: a broker of each module's own, a fresh database, `usagemart worker` processes.

The worker's consumer groups have fixed names, so each module gets its own broker (a couple of
seconds) and its raw topics hold only that module's records; each gets its own database on the
session's ClickHouse too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from clickhouse.client import connect, ensure_database
from clickhouse.migrate import migrate
from streams.topics import ensure_topics
from tests.kafka_fixtures import start_kafka
from tests.streams.worker.worker_process import WorkerProcess
from usagemart.settings import ClickHouseTarget


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker of this module's own with every catalog topic."""
    brokers = start_kafka(tmp_path_factory.mktemp("kafka"))
    bootstrap = next(brokers)
    ensure_topics(bootstrap)
    yield bootstrap
    next(brokers, None)


@pytest.fixture(scope="module")
def database(clickhouse_target: ClickHouseTarget) -> Iterator[ClickHouseTarget]:
    """A new migrated database on the session's ClickHouse, dropped after the module."""
    yield from migrated_database(clickhouse_target)


def migrated_database(server: ClickHouseTarget) -> Iterator[ClickHouseTarget]:
    """A new database on `server`'s ClickHouse, migrated; dropped when the generator closes."""
    target = ClickHouseTarget(f"http://{server.username}:{server.password}@{server.host}:{server.port}/"
                              f"worker_{uuid.uuid4().hex[:8]}")
    ensure_database(target)
    with connect(target) as client:
        migrate(client)
    yield target
    with connect(target) as client:
        client.command(f"DROP DATABASE IF EXISTS `{target.database}`")


@pytest.fixture(scope="module")
def client(database: ClickHouseTarget) -> Iterator[Client]:
    """A client on the module's database."""
    with connect(database) as opened:
        yield opened


@pytest.fixture(scope="module")
def worker(broker: str, database: ClickHouseTarget, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """The module's worker (not started); stopped after the module."""
    process = WorkerProcess(broker, database, Path(tmp_path_factory.mktemp("worker-home")))
    yield process
    process.stop()
