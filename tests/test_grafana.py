"""Every Grafana panel's SQL, macros expanded, runs read-only against the demo's data and returns its columns.

The data come from the real pipeline on a small simulated world (seed 7, as the demo's): the pollers
poll the simulator into the session broker, the demo budgets (and one any API spend crosses) and an
undecodable record are published, replay ingests what this module published (landing, normalize, attribute, DLQ) into a
fresh database, a batch builds the marts and the alert evaluation sends the budget alerts.

Macros are expanded as the grafana-clickhouse-datasource plugin (v4, `pkg/macros/macros.go`) does,
for a fixed range (the last 30 days up to now) and a 1 h interval; a panel repeated over a variable
runs once per value. Each panel declares its columns at the end of its description
(`Columns: a, b.`), an annotation in a `-- Columns:` comment. Queries run with `readonly=2`, the
profile of the `grafana` user, and may only read tables of the database (its only grant).
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from clickhouse_connect.driver.client import Client
from confluent_kafka import Producer

from batch.runner import BatchOptions, run_batch
from clickhouse.client import connect
from streams.pollers import SOURCE_NAMES, source
from streams.pollers.source import poll_once
from streams.replay import replay
from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from streams.topics import ensure_topics
from tests.streams.pollers.conftest import settings_for
from tests.streams.worker.conftest import migrated_database
from usagemart.alerts import evaluate_alerts
from usagemart.budgets import DEMO_BUDGETS, Budget, publish_budgets, read_budgets
from usagemart.settings import ClickHouseTarget

ROOT = Path(__file__).resolve().parents[1]
DASHBOARDS = sorted((ROOT / "grafana/dashboards").glob("*.json"))
WORLD_DAYS = 20
"""Enough for the 30-day panels to have something on most days, and for the previous month to have spend on the
first days of a month, when the alert evaluation still looks at it."""
ANY_SPEND: Budget = {
    "budget_id": "grafana-test-any-spend", "scope": "platform", "scope_value": "anthropic_api", "members": [],
    "monthly_amount": Decimal("1.00"), "currency": "USD", "thresholds_pct": [50], "owner_email": None, "active": True,
    "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
}
"""A budget any API spend crosses: the demo budgets alone cross nothing on the first mornings of a month."""
INTERVAL_S = 3600
MACRO = re.compile(r"\$__(\w+)(?:\(([^()]*)\))?")
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
RELATION = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)(\s*\()?", re.IGNORECASE)
CTE = re.compile(r"\b(\w+)\s+AS\s*\(", re.IGNORECASE)


@dataclass(frozen=True)
class Query:
    """One query to run: where it is, its SQL, the variable values to expand and the columns it declares."""

    name: str
    sql: str
    variables: dict[str, str]
    columns: list[str]


@dataclass(frozen=True)
class TimeRange:
    """The dashboard time range and interval the macros expand to."""

    start: datetime
    end: datetime
    interval_s: int = INTERVAL_S


def expand(sql: str, span: TimeRange, variables: dict[str, str]) -> str:
    """The SQL the plugin sends: its macros, then the dashboard variables, replaced."""

    def macro(match: re.Match[str]) -> str:
        name, argument = match[1], match[2]
        start, end = int(span.start.timestamp()), int(span.end.timestamp())
        expansions = {
            "timeFilter": lambda: f"{argument} >= toDateTime({start}) AND {argument} <= toDateTime({end})",
            "dateFilter": lambda: (f"{argument} >= toDate('{span.start:%Y-%m-%d}') AND "
                                   f"{argument} <= toDate('{span.end:%Y-%m-%d}')"),
            "timeInterval": lambda: f"toStartOfInterval(toDateTime({argument}), INTERVAL {span.interval_s} second)",
            "fromTime": lambda: f"toDateTime({start})",
            "toTime": lambda: f"toDateTime({end})",
        }
        assert name in expansions, f"macro $__{name} is not one the dashboards are tested with"
        return expansions[name]()

    expanded = VARIABLE.sub(lambda match: variables[match[1] or match[2]], MACRO.sub(macro, sql))
    assert "$" not in expanded, expanded
    return expanded


def custom_options(variable: dict[str, Any]) -> list[str]:
    """The values of a custom variable (`text : value` pairs, or plain values, separated by commas)."""
    return [option.split(" : ")[-1].strip() for option in variable["query"].split(",")]


def declared_columns(text: str) -> list[str]:
    """The columns a description or SQL comment declares (`Columns: a, b.`)."""
    match = re.search(r"Columns: ([\w, ]+)\.", text)
    assert match, f"no 'Columns: ...' in {text!r}"
    return [column.strip() for column in match[1].split(",")]


def dashboard_queries(path: Path) -> Iterator[Query]:
    """Every panel target and annotation query of a dashboard, once per value of a repeated panel's variable."""
    board = json.loads(path.read_text())
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    for panel in board["panels"]:
        repeat = panel.get("repeat")
        values = [{repeat: value} for value in custom_options(variables[repeat])] if repeat else [{}]
        for target in panel.get("targets", []):
            for chosen in values:
                yield Query(f"{path.stem}: {panel['title']} {chosen or ''}".strip(), target["rawSql"], chosen,
                            declared_columns(panel["description"]))
    for annotation in board["annotations"]["list"]:
        if "target" in annotation:
            sql = annotation["target"]["rawSql"]
            yield Query(f"{path.stem}: annotation {annotation['name']}", sql, {}, declared_columns(sql))


QUERIES = [query for path in DASHBOARDS for query in dashboard_queries(path)]


@pytest.fixture(scope="module")
def demo(clickhouse_target: ClickHouseTarget, kafka_bootstrap: str,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """A fresh database holding what the demo's pipeline makes of a small world."""
    world = World.ending_now(7, WORLD_DAYS)
    for target in migrated_database(clickhouse_target):
        with serve_in_thread(build_app(world)) as url, connect(target) as client:
            url_of_db = f"http://{target.username}:{target.password}@{target.host}:{target.port}/{target.database}"
            settings = settings_for(tmp_path_factory.mktemp("grafana-home"), kafka_bootstrap, url,
                                    clickhouse_url=url_of_db)
            ensure_topics(kafka_bootstrap)
            started = datetime.now(UTC) - timedelta(seconds=1)
            for name in SOURCE_NAMES:
                poll_once(source(name), settings, since=datetime.combine(world.start, time(), UTC))
            publish_budgets(settings, [*read_budgets(DEMO_BUDGETS), ANY_SPEND])
            _publish_undecodable(kafka_bootstrap, "raw.cursor.daily_usage")
            replay(settings, started)
            run_batch(client, settings, BatchOptions(settle=timedelta(0)))
            evaluate_alerts(client, settings)
            yield client


@pytest.fixture(scope="module")
def span(demo: Client) -> TimeRange:
    """The last 30 days up to now (this second included), fixed once the data are in."""
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    return TimeRange(end - timedelta(days=30), end)


def test_dashboards_are_provisioned_on_the_clickhouse_datasource() -> None:
    assert {path.name for path in DASHBOARDS} == {"ai-spend.json", "ai-adoption.json", "usage-mart.json",
                                                  "pipeline-health.json"}
    datasource = yaml.safe_load((ROOT / "grafana/provisioning/datasources/clickhouse.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    boards = [json.loads(path.read_text()) for path in DASHBOARDS]
    assert len({board["uid"] for board in boards}) == len(boards)
    for board in boards:
        for panel in board["panels"]:
            for target in [panel, *panel.get("targets", [])]:
                if "datasource" in target:
                    assert target["datasource"] == {"type": "grafana-clickhouse-datasource", "uid": uid}, panel["title"]


def test_the_grafana_user_is_read_only_with_settings_allowed() -> None:
    users = ElementTree.parse(ROOT / "clickhouse/server/users.d/grafana.xml").getroot()
    assert users.findtext("profiles/readonly_grafana/readonly") == "2"
    assert users.findtext("users/grafana/grants/query") == "GRANT SELECT ON usage_mart.*"


@pytest.mark.parametrize("query", QUERIES, ids=[query.name for query in QUERIES])
def test_panel_returns_its_columns_read_only(query: Query, demo: Client, span: TimeRange) -> None:
    sql = expand(query.sql, span, query.variables)
    _reads_only_tables_of_the_database(demo, sql)
    result = demo.query(sql, settings={"readonly": 2})
    if not result.result_rows and "toStartOfMonth(today())" in sql and not _spent_this_month(demo):
        pytest.skip("the first minutes of a UTC month: nothing spent this month yet")
    assert result.result_rows, f"{query.name}: no rows"
    assert list(result.column_names) == query.columns


def _reads_only_tables_of_the_database(client: Client, sql: str) -> None:
    # The grafana user's only grant is SELECT on the database: no table functions, no other databases.
    tables = {row[0] for row in client.query("SELECT name FROM system.tables WHERE database = currentDatabase()")
              .result_rows}
    ctes = {match[1] for match in CTE.finditer(sql)}
    for match in RELATION.finditer(sql):
        name, call = match[1], match[2]
        assert not call and name in tables | ctes, f"reads {name}{'()' if call else ''}, not a table of the database"


def _spent_this_month(client: Client) -> bool:
    return bool(client.query("SELECT count() FROM cost_events WHERE usage_date >= toStartOfMonth(today())")
                .result_rows[0][0])


def _publish_undecodable(bootstrap: str, topic: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, b"\x00not avro", f"poison-{uuid.uuid4().hex}".encode())
    assert producer.flush(10) == 0
