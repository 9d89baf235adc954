"""Migrations against the real engine: fresh apply, re-apply is a no-op, a broken file names itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from clickhouse.client import connect, ensure_database
from clickhouse.migrate import MigrationError, discover, migrate
from usagemart.settings import ClickHouseTarget

EXPECTED_TABLES = {"raw_anthropic_usage", "raw_stripe_charges", "raw_pricebook", "usage_events", "cost_events",
                   "dlq_records", "schema_migrations"}


@pytest.fixture
def fresh(clickhouse_target: ClickHouseTarget) -> Iterator[Client]:
    """A client on a new, empty database."""
    base = clickhouse_target
    target = ClickHouseTarget(f"http://{base.username}:{base.password}@{base.host}:{base.port}/m_{uuid.uuid4().hex[:8]}")
    ensure_database(target)
    with connect(target) as client:
        yield client
        client.command(f"DROP DATABASE `{target.database}`")


def _tables(client: Client) -> set[str]:
    return {row[0] for row in client.query("SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows}


def test_fresh_apply_creates_the_landing_and_event_tables(fresh: Client) -> None:
    applied = migrate(fresh)
    assert applied == [m.name for m in discover()]
    assert EXPECTED_TABLES <= _tables(fresh)
    engine = fresh.query("SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'usage_events'")
    assert engine.result_rows[0][0] == "ReplacingMergeTree"


def test_reapply_is_a_no_op(fresh: Client) -> None:
    migrate(fresh)
    before = fresh.query("SELECT count() FROM schema_migrations").result_rows[0][0]
    assert migrate(fresh) == []
    assert fresh.query("SELECT count() FROM schema_migrations").result_rows[0][0] == before


def test_broken_file_reports_its_name_and_statement(fresh: Client, tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE IF NOT EXISTS ok_t (a UInt8) ENGINE = MergeTree ORDER BY a;\n")
    (tmp_path / "0002_broken.sql").write_text("-- a typo\nCREATE TABLE broken_t (a UInt8) ENGINE = NoSuchEngine;\n")
    with pytest.raises(MigrationError) as error:
        migrate(fresh, directory=tmp_path)
    assert "0002_broken.sql" in str(error.value) and "CREATE TABLE broken_t" in str(error.value)
    assert [row[0] for row in fresh.query("SELECT name FROM schema_migrations").result_rows] == ["0001_ok.sql"]


def test_cluster_placeholders_are_filled(tmp_path: Path) -> None:
    (migration,) = [m for m in discover() if m.name.startswith("0002")][:1]
    statements = migration.statements("ON CLUSTER `prod`", "Replicated")
    assert all("ON CLUSTER `prod`" in s for s in statements)
    assert any("ReplicatedReplacingMergeTree(version)" in s for s in statements)
