"""`usagemart demo` end to end: every source polled from the simulator, events, marts, alerts, report.

The demo runs as a real process against a broker of its own and a fresh database on the session
ClickHouse (so the embedded services it would otherwise start are configured externally).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from clickhouse.client import connect
from streams.landing import landing_table
from streams.topics import CATALOG
from tests.kafka_fixtures import start_kafka
from tests.streams.worker.conftest import migrated_database
from usagemart.processes import free_port
from usagemart.settings import ClickHouseTarget

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory,
         clickhouse_target: ClickHouseTarget) -> Iterator[tuple[dict[str, str], ClickHouseTarget, str]]:
    """Run the demo once; yield its environment, database and output."""
    home = tmp_path_factory.mktemp("demo")
    brokers = start_kafka(home / "kafka")
    bootstrap = next(brokers)
    for target in migrated_database(clickhouse_target):
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "USAGEMART_HOME": str(home / "state"),
               "CLICKHOUSE_URL": f"http://{target.username}:{target.password}@{target.host}:{target.port}/"
                                 f"{target.database}",
               "SIMULATOR_PORT": str(free_port())}
        result = subprocess.run([sys.executable, "-m", "usagemart", "demo"], env=env, capture_output=True, text=True,
                                timeout=900, cwd=Path(__file__).resolve().parents[1])
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield env, target, result.stdout
    next(brokers, None)


@pytest.fixture
def client(demo: tuple[dict[str, str], ClickHouseTarget, str]) -> Iterator[Client]:
    with connect(demo[1]) as ch:
        yield ch


def test_every_raw_topic_of_every_source_landed(client: Client) -> None:
    for topic in CATALOG:
        if topic.startswith("raw.") or topic.startswith("ref.catalog.") or topic == "ref.pricebook":
            count = client.query(f"SELECT count() FROM {landing_table(topic)}").result_rows[0][0]
            assert count > 0, f"nothing landed from {topic}"


def test_events_of_every_platform_and_both_cost_kinds(client: Client) -> None:
    platforms = {row[0] for row in client.query("SELECT DISTINCT platform FROM usage_events").result_rows}
    kinds = {row[0] for row in client.query("SELECT DISTINCT cost_kind FROM cost_events").result_rows}
    assert platforms == {"anthropic_api", "claude_code", "cursor"}
    assert kinds == {"reported", "estimated"}
    assert client.query("SELECT count() FROM dlq_records").result_rows[0][0] == 0


def test_the_marts_are_built(client: Client) -> None:
    for mart in ("fact_usage", "dim_customer", "fact_ai_usage", "fact_ai_costs", "fct_cost_daily",
                 "mart_new_subscriptions", "mart_funnel_conversions", "mart_ticket_analytics",
                 "mart_churned_customers"):
        assert client.query(f"SELECT count() FROM {mart}").result_rows[0][0] > 0, f"{mart} is empty"


def test_the_report_and_alerts_are_printed(demo: tuple[dict[str, str], ClickHouseTarget, str]) -> None:
    output = demo[2]
    assert "Spend by platform, month to date" in output
    assert "alert:" in output


def test_check_is_green_after_the_demo(demo: tuple[dict[str, str], ClickHouseTarget, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "usagemart", "check"], env=demo[0], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "fail" not in result.stdout.strip().splitlines()[-1]
