"""A fresh, migrated database per test on the session's ClickHouse, with landing and batch helpers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from batch.project import Project, load_project
from batch.runner import BatchOptions, BatchOutcome, run_batch
from clickhouse.client import connect, ensure_database
from clickhouse.migrate import migrate
from tests.batch.landing import Landing
from usagemart.settings import ClickHouseTarget, Settings, load_settings

MART_TABLES = ("dim_customer", "dim_product", "dim_plan", "dim_country", "dim_currency", "fact_usage",
               "int__resolved_prices")
"""The usage mart's tables: its tests build these and what they read, not the other marts."""


@dataclass
class Mart:
    """One test's database: land records, run batches, read the marts."""

    client: Client
    target: ClickHouseTarget
    landing: Landing
    settings: Settings
    project: Project | None = None
    """The models batches build (default: the whole project)."""

    def batch(self, project: Project | None = None, **options: Any) -> BatchOutcome:
        """Run a batch that sees everything landed so far."""
        return run_batch(self.client, self.settings, BatchOptions(settle=timedelta(0), **options),
                         project or self.project)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a query."""
        return [tuple(row) for row in self.client.query(sql).result_rows]

    def snapshot(self) -> dict[str, list[str]]:
        """Every mart table's rows, in a stable order."""
        return {table: sorted(repr(row) for row in self.rows(f"SELECT * FROM {table}")) for table in MART_TABLES}

    def part_names(self, table: str) -> dict[str, str]:
        """Partition id -> names of its active parts: a rewritten partition gets new part names."""
        rows = self.rows("SELECT partition_id, arrayStringConcat(groupArray(name), ',') FROM system.parts "
                         f"WHERE database = currentDatabase() AND table = '{table}' AND active GROUP BY partition_id")
        return {str(partition): str(names) for partition, names in rows}


@pytest.fixture
def usage_mart(mart: Mart) -> Mart:
    """`mart` whose batches build the usage mart only, so other marts' models cannot change its results."""
    mart.project = load_project().select(MART_TABLES)
    return mart


@pytest.fixture
def mart(clickhouse_target: ClickHouseTarget) -> Iterator[Mart]:
    """A migrated database of its own, dropped afterwards."""
    base = clickhouse_target
    target = ClickHouseTarget(f"{'https' if base.secure else 'http'}://{base.username}:{base.password}"
                              f"@{base.host}:{base.port}/batch_{uuid.uuid4().hex[:8]}")
    ensure_database(target)
    with connect(target) as client:
        migrate(client)
        settings = load_settings(default_billing_currency="USD", clickhouse_cluster="")
        yield Mart(client, target, Landing(client), settings)
        client.command(f"DROP DATABASE `{target.database}` SYNC")
