"""`usagemart watch --once`: one frame with every section, from hand-built spend, landing, dead letters and alerts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from tests.usagemart.conftest import Warehouse
from usagemart.cli import app
from usagemart.watch import SECTIONS

PERSON = "grace.hopper@example.com"


@pytest.fixture
def watched(warehouse: Warehouse) -> Warehouse:
    """Spend of both kinds today, a budget crossed and alerted, a dead letter."""
    warehouse.budget("person", PERSON, "100", thresholds=(80,), budget_id="grace-monthly")
    warehouse.spend("12.5", email=PERSON, platform="cursor", kind="reported")
    warehouse.spend("90", email=PERSON)
    warehouse.evaluate()
    dead_letter = ["decode", "not Avro", "raw.cursor.daily_usage", 0, 7, "k", "", datetime.now(UTC)]
    warehouse.client.insert("dlq_records", [dead_letter], column_names=[
        "stage", "error", "source_topic", "source_partition", "source_offset", "original_key", "original_value",
        "failed_at"])
    return warehouse


def watch_once(warehouse: Warehouse) -> tuple[int, str]:
    """Exit code and output (lines unwrapped) of `usagemart watch --once` on a wide terminal."""
    env = {"CLICKHOUSE_URL": str(warehouse.settings.clickhouse_url), "COLUMNS": "220",
           "KAFKA_BOOTSTRAP_SERVERS": warehouse.settings.bootstrap_servers}
    result = CliRunner().invoke(app, ["watch", "--once"], env=env)
    return result.exit_code, result.output


def test_once_prints_every_section_with_its_numbers(watched: Warehouse) -> None:
    code, output = watch_once(watched)
    assert code == 0, output
    for section in SECTIONS:
        assert section.title in output
    for cells in (["cursor", "12.50", "0.00", "12.50", "0.00"],  # spend now: reported, estimated, today's
                  ["estimated", "90.00", "90.00", "90.00"],  # burn rate: last hour, last day, month to date
                  [PERSON, "12.50", "90.00", "cursor claude_code"],  # top spenders
                  ["ref.budgets"],  # freshness of what landed
                  ["decode", "raw.cursor.daily_usage", "1", "1", "1"],  # dead letters
                  ["grace-monthly", "estimated", "80%", "90.00", "100.00"]):  # recent alerts
        assert re.search(r"│ " + r"\s*│\s*".join(map(re.escape, cells)) + r" ", output), cells

def test_a_failing_section_shows_its_error_in_place_and_the_others_still_show(watched: Warehouse) -> None:
    watched.client.command("DROP TABLE alerts")
    code, output = watch_once(watched)
    assert code == 1
    assert "Recent alerts: unavailable" in output
    assert "Dead letters" in output and "raw.cursor.daily_usage" in output


def test_unreachable_clickhouse_is_one_line_and_exit_1() -> None:
    env = {"CLICKHOUSE_URL": "http://default@127.0.0.1:9/usage_mart"}
    result = CliRunner().invoke(app, ["watch", "--once"], env=env)
    assert result.exit_code == 1
    assert "ClickHouse unavailable" in result.output


def test_an_empty_warehouse_says_so_in_each_section(warehouse: Warehouse) -> None:
    code, output = watch_once(warehouse)
    assert code == 0, output
    for section in SECTIONS:
        assert section.title in output and section.empty in output
