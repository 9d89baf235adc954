"""Session fixtures: a real Kafka broker and a real ClickHouse engine for the whole test run.

Kafka: `KAFKA_BOOTSTRAP_SERVERS` if set, else testcontainers where Docker answers, else the
project's local broker on free ports. ClickHouse: `CLICKHOUSE_URL` if set (a per-run database
is created), else the embedded endpoint (chDB) on a free port.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from clickhouse.client import connect, ensure_database
from clickhouse.endpoint import endpoint_service
from clickhouse.migrate import migrate
from tests.kafka_fixtures import start_kafka
from usagemart.processes import free_port
from usagemart.settings import ClickHouseTarget


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of a real Kafka broker."""
    yield from start_kafka(tmp_path_factory.mktemp("kafka"))


@pytest.fixture(scope="session")
def clickhouse_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseTarget]:
    """A real ClickHouse with a fresh, migrated database."""
    external = os.environ.get("CLICKHOUSE_URL")
    if external:
        base = ClickHouseTarget(external)
        target = ClickHouseTarget(f"{'https' if base.secure else 'http'}://{base.username}:{base.password}"
                                  f"@{base.host}:{base.port}/test_{uuid.uuid4().hex[:8]}")
        yield from _migrated(target)
        with connect(target, database="") as client:
            client.command(f"DROP DATABASE IF EXISTS `{target.database}`")
        return
    root: Path = tmp_path_factory.mktemp("clickhouse")
    port = free_port()
    service = endpoint_service(root / "data", root / "run", port=port)
    service.start()
    try:
        yield from _migrated(ClickHouseTarget(f"http://127.0.0.1:{port}/usage_mart"))
    finally:
        service.stop()


def _migrated(target: ClickHouseTarget) -> Iterator[ClickHouseTarget]:
    ensure_database(target)
    with connect(target) as client:
        migrate(client)
    yield target


@pytest.fixture
def ch(clickhouse_target: ClickHouseTarget) -> Iterator[Client]:
    """A clickhouse-connect client on the migrated test database."""
    with connect(clickhouse_target) as client:
        yield client
