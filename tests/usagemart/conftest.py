"""A warehouse of the test's own: a fresh migrated database, settings pointing at it and the session broker,
and hand-built budgets and cost events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from clickhouse.client import connect
from tests.batch.landing import Landing
from tests.streams.worker.conftest import migrated_database
from usagemart.alerts import Evaluation, evaluate_alerts
from usagemart.budgets import Budget
from usagemart.settings import ClickHouseTarget, Settings, load_settings

COST_COLUMNS = ("event_id", "version", "source", "platform", "cost_kind", "event_time", "usage_date", "amount",
                "currency", "user_email", "attribution_method", "attribution_confidence", "raw_topic")


@dataclass
class Warehouse:
    """One test's database and settings, with ways to land budgets and spend."""

    client: Client
    settings: Settings
    landing: Landing = field(init=False)

    def __post_init__(self) -> None:
        self.landing = Landing(self.client)

    def budget(self, scope: str, scope_value: str, amount: str, *, members: tuple[str, ...] = (),
               thresholds: tuple[int, ...] = (50, 80, 100), currency: str = "USD", active: bool = True,
               budget_id: str | None = None) -> Budget:
        """Land a `ref.budgets` record (a new id unless given, so tests share no alert ids); return it."""
        record: Budget = {
            "budget_id": budget_id or f"{scope}-{uuid.uuid4().hex[:10]}", "scope": scope, "scope_value": scope_value,
            "members": list(members), "monthly_amount": Decimal(amount), "currency": currency,
            "thresholds_pct": list(thresholds), "owner_email": "owner@example.com", "active": active,
            "updated_at": datetime.now(UTC),
        }
        self.landing.write("ref.budgets", record, key=record["budget_id"])
        return record

    def spend(self, amount: str, *, email: str | None = None, platform: str = "claude_code",
              kind: str = "estimated", day: date | None = None, currency: str = "USD", event_id: str | None = None,
              version: int = 1) -> str:
        """Write one cost event (today by default); a known `event_id` with a higher version restates it."""
        event_id = event_id or uuid.uuid4().hex
        row: list[Any] = [event_id, version, "test", platform, kind, datetime.now(UTC), day or today(), Decimal(amount),
                          currency, email, "direct_email", 1.0, "test"]
        self.client.insert("cost_events", [row], column_names=COST_COLUMNS)
        return event_id

    def evaluate(self) -> Evaluation:
        """One alert evaluation."""
        return evaluate_alerts(self.client, self.settings)

    def recorded(self) -> list[tuple[str, str, int]]:
        """(budget_id, cost_kind, threshold_pct) of every alert in the `alerts` table, sorted."""
        rows = self.client.query("SELECT budget_id, toString(cost_kind), threshold_pct FROM alerts FINAL ORDER BY ALL")
        return [(str(budget), str(kind), int(threshold)) for budget, kind, threshold in rows.result_rows]


def today() -> date:
    """Today (UTC), as ClickHouse's today() on the UTC engine."""
    return datetime.now(UTC).date()


def settings_for(target: ClickHouseTarget, bootstrap: str, home: Path) -> Settings:
    """Settings for the services under test."""
    url = f"http://{target.username}:{target.password}@{target.host}:{target.port}/{target.database}"
    return load_settings(clickhouse_url=url, kafka_bootstrap_servers=bootstrap, usagemart_home=home)


@pytest.fixture
def warehouse(clickhouse_target: ClickHouseTarget, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Warehouse]:
    """A fresh migrated database of this test's own."""
    for target in migrated_database(clickhouse_target):
        with connect(target) as client:
            yield Warehouse(client, settings_for(target, kafka_bootstrap, tmp_path))
