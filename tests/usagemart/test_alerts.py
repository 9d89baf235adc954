"""Budget alerts fire exactly once per threshold crossing: on re-evaluation, after a crash between publishing
and recording, after losing the table, after a replay that rebuilds the events, and with two evaluators.

Spend and budgets are hand-built (amounts chosen so every expectation is plain arithmetic); the topic is
read back independently, read-committed, to count what was really sent.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from confluent_kafka import Consumer, Message
from typer.testing import CliRunner

from schemas.serde import HeaderFraming, Serde
from streams.offsets import consume_range, offset_range
from streams.pollers.publisher import Publisher
from streams.replay import replay
from streams.topics import ensure_topics
from tests.schemas.conftest import sample
from tests.usagemart.conftest import Warehouse, today
from usagemart.alerts import AlertError, alert_id
from usagemart.alerts.topic import AlertsTopic
from usagemart.budgets import Budget, publish_budgets
from usagemart.cli import app

PERSON = "ada.lovelace@example.com"


def sent(warehouse: Warehouse, budget_ids: Iterable[str]) -> Counter[tuple[str, str, int]]:
    """How many times each (budget, kind, threshold) of these budgets is on the alerts topic."""
    wanted = set(budget_ids)
    counts: Counter[tuple[str, str, int]] = Counter()
    serde = Serde(HeaderFraming())

    def count(messages: list[Message]) -> None:
        for message in messages:
            alert = serde.decode("alerts", message.value() or b"", message.headers())
            assert (message.key() or b"").decode() == alert["alert_id"]
            if alert["budget_id"] in wanted:
                counts[(alert["budget_id"], alert["cost_kind"], alert["threshold_pct"])] += 1

    bootstrap = warehouse.settings.bootstrap_servers
    starts, ends = offset_range(bootstrap, ["alerts"], None)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False})
    try:
        consume_range(consumer, starts, ends, count)
    finally:
        consumer.close()
    return counts


def fired(warehouse: Warehouse) -> list[tuple[str, str, int]]:
    """(budget, kind, threshold) of the alerts one evaluation fired."""
    return sorted((a["budget_id"], a["cost_kind"], a["threshold_pct"]) for a in warehouse.evaluate().fired)


def test_alert_id_hashes_budget_month_kind_and_threshold() -> None:
    month = date(2026, 3, 1)
    assert alert_id("b", month, "estimated", 80) == alert_id("b", month, "estimated", 80)
    assert len(alert_id("b", month, "estimated", 80)) == 32
    variants = {alert_id("b", month, "estimated", 80), alert_id("c", month, "estimated", 80),
                alert_id("b", date(2026, 4, 1), "estimated", 80), alert_id("b", month, "reported", 80),
                alert_id("b", month, "estimated", 100)}
    assert len(variants) == 5


def test_each_threshold_fires_once_per_cost_kind(warehouse: Warehouse) -> None:
    budget = warehouse.budget("person", PERSON, "100")["budget_id"]
    warehouse.spend("60", email=PERSON)
    warehouse.spend("30", email=PERSON, kind="reported")
    assert fired(warehouse) == [(budget, "estimated", 50)]
    assert fired(warehouse) == []

    warehouse.spend("25", email=PERSON)  # estimated 85
    assert fired(warehouse) == [(budget, "estimated", 80)]
    warehouse.spend("60", email=PERSON, kind="reported")  # reported 90
    assert fired(warehouse) == [(budget, "reported", 50), (budget, "reported", 80)]
    assert fired(warehouse) == []

    assert warehouse.recorded() == [(budget, "estimated", 50), (budget, "estimated", 80), (budget, "reported", 50),
                                    (budget, "reported", 80)]
    assert set(sent(warehouse, [budget]).values()) == {1} and len(sent(warehouse, [budget])) == 4


def test_spend_restated_below_and_back_above_a_threshold_does_not_fire_again(warehouse: Warehouse) -> None:
    budget = warehouse.budget("person", PERSON, "100")["budget_id"]
    event = warehouse.spend("55", email=PERSON)
    assert fired(warehouse) == [(budget, "estimated", 50)]
    warehouse.spend("40", email=PERSON, event_id=event, version=2)
    warehouse.spend("56", email=PERSON, event_id=event, version=3)
    assert fired(warehouse) == []
    assert sent(warehouse, [budget]) == {(budget, "estimated", 50): 1}


def test_team_and_platform_budgets_count_their_members_platform_and_currency(warehouse: Warehouse) -> None:
    other = f"{uuid.uuid4().hex[:6]}@example.com"
    team = warehouse.budget("team", "Robots", "120", members=(PERSON, "Grace.Hopper@example.com"))["budget_id"]
    platform = warehouse.budget("platform", "cursor", "1000")["budget_id"]
    warehouse.spend("70", email=PERSON)
    warehouse.spend("40", email="grace.hopper@example.com", platform="cursor", kind="reported")
    warehouse.spend("500", email=other)  # not a member
    warehouse.spend("90", email=PERSON, currency="EUR")  # not the budget's currency
    warehouse.spend("10", email=other, platform="cursor", kind="reported")

    spend = dict(((budget_id, kind), amount) for budget_id, kind, amount in warehouse.client.query(
        "SELECT budget_id, toString(cost_kind), spend FROM budget_spend WHERE month = toStartOfMonth(today())"
    ).result_rows)
    assert spend == {(team, "estimated"): Decimal(70), (team, "reported"): Decimal(40),
                     (platform, "estimated"): Decimal(0), (platform, "reported"): Decimal(50)}
    assert fired(warehouse) == [(team, "estimated", 50)]


def test_retired_budget_and_last_month_after_the_late_window_do_not_fire(warehouse: Warehouse) -> None:
    retired = warehouse.budget("person", PERSON, "10")
    warehouse.budget("person", PERSON, "10", active=False, budget_id=retired["budget_id"])
    late = warehouse.budget("person", "late@example.com", "10")["budget_id"]
    last_month = today().replace(day=1) - timedelta(days=1)
    warehouse.spend("50", email=PERSON)
    warehouse.spend("50", email="late@example.com", day=last_month)
    within_late_window = (today() - last_month).days <= warehouse.settings.anthropic_restatement_days
    assert fired(warehouse) == ([(late, "estimated", t) for t in (50, 80, 100)] if within_late_window else [])


def test_published_but_unrecorded_alerts_are_recorded_not_sent_again(warehouse: Warehouse) -> None:
    budget = warehouse.budget("person", PERSON, "100")["budget_id"]
    warehouse.spend("81", email=PERSON)
    assert len(warehouse.evaluate().fired) == 2
    # A crash after the commit and before the insert, or a lost table: the topic still has them.
    warehouse.client.command("TRUNCATE TABLE alerts")

    evaluation = warehouse.evaluate()
    assert evaluation.fired == []
    assert sorted(alert["threshold_pct"] for alert in evaluation.restored) == [50, 80]
    assert warehouse.recorded() == [(budget, "estimated", 50), (budget, "estimated", 80)]
    assert sent(warehouse, [budget]) == {(budget, "estimated", 50): 1, (budget, "estimated", 80): 1}


def test_a_second_evaluator_fences_the_first(warehouse: Warehouse) -> None:
    budget = warehouse.budget("person", PERSON, "100")["budget_id"]
    warehouse.spend("51", email=PERSON)
    month = today().replace(day=1)
    stale = {"alert_id": alert_id(budget, month, "estimated", 50), "budget_id": budget, "scope": "person",
             "scope_value": PERSON, "owner_email": None, "month": month, "cost_kind": "estimated", "threshold_pct": 50,
             "budget_amount": Decimal("100.00"), "spend_amount": Decimal("51.000000000000"), "currency": "USD",
             "fired_at": datetime.now(UTC)}
    with AlertsTopic(warehouse.settings) as first, AlertsTopic(warehouse.settings):
        with pytest.raises(AlertError, match="publishing 1 alerts"):
            first.publish([stale])
    assert fired(warehouse) == [(budget, "estimated", 50)]
    assert sent(warehouse, [budget]) == {(budget, "estimated", 50): 1}


def test_replay_that_rebuilds_events_and_budgets_sends_nothing_again(warehouse: Warehouse) -> None:
    settings = warehouse.settings
    ensure_topics(settings.bootstrap_servers)
    person = f"replay-{uuid.uuid4().hex[:8]}@example.com"
    budget: Budget = {"budget_id": f"person-{uuid.uuid4().hex[:10]}", "scope": "person", "scope_value": person,
                      "members": [], "monthly_amount": Decimal("100.00"), "currency": "USD",
                      "thresholds_pct": [50, 80], "owner_email": None, "active": True, "updated_at": datetime.now(UTC)}
    publish_budgets(settings, [budget])
    usage = sample("raw.anthropic.claude_code") | {"date": today(), "actor_email_address": person}
    usage["model_breakdown"] = [usage["model_breakdown"][0] | {"estimated_cost_amount": 6000.0}]  # cents: $60
    publisher = Publisher(settings.bootstrap_servers, Serde(HeaderFraming()), "anthropic", uuid.uuid4().hex)
    publisher.publish("raw.anthropic.claude_code", [usage])
    publisher.close()
    topics = ["raw.anthropic.claude_code", "ref.budgets"]

    replay(settings, None, topics, rebuild=True)
    assert fired(warehouse) == [(budget["budget_id"], "estimated", 50)]
    replay(settings, None, topics, rebuild=True)
    assert fired(warehouse) == []
    assert sent(warehouse, [budget["budget_id"]]) == {(budget["budget_id"], "estimated", 50): 1}


def usagemart(warehouse: Warehouse, *args: str) -> tuple[int, str]:
    """Exit code and output (whitespace collapsed) of a `usagemart` command on the warehouse."""
    env = {"CLICKHOUSE_URL": str(warehouse.settings.clickhouse_url),
           "KAFKA_BOOTSTRAP_SERVERS": warehouse.settings.bootstrap_servers,
           "USAGEMART_HOME": str(warehouse.settings.usagemart_home)}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, " ".join(result.output.split())


def test_cli_evaluates_and_prints_each_alert_once(warehouse: Warehouse) -> None:
    budget = warehouse.budget("platform", "claude_code", "10")["budget_id"]
    warehouse.spend("5", email=PERSON)
    code, output = usagemart(warehouse, "alerts", "evaluate")
    assert code == 0, output
    assert f"alert {budget} (platform claude_code) {today():%Y-%m} estimated spend reached 50%: 5.00 of 10.00 USD" \
        in output
    assert usagemart(warehouse, "alerts", "evaluate") == (0, "alerts: no new threshold crossing (1 alerted before)")


def test_batch_run_evaluates_the_alerts_after_the_batch(warehouse: Warehouse) -> None:
    budget = warehouse.budget("person", PERSON, "10", thresholds=(100,))["budget_id"]
    warehouse.spend("10", email=PERSON, kind="reported")
    code, output = usagemart(warehouse, "batch", "run")
    assert code == 0, output
    assert f"alert {budget} (person {PERSON})" in output and "reported spend reached 100%" in output
    assert warehouse.recorded() == [(budget, "reported", 100)]

