"""Budget alerts: one `alerts` record per threshold crossing, published once, recorded in the `alerts` table.

A crossing is (budget, month, cost kind, threshold): the month's spend of that kind reached the
threshold. Estimated spend (minutes after use) and vendor-reported spend (a day or more later)
cross separately, so a threshold alerts once per kind. Its `alert_id` is a hash of the four, so
the same crossing found again, by the next batch, after a restart or after a replay that rebuilt
the events, has the same id.

One evaluation, top to bottom (`evaluate_alerts`):
1. find the crossings (`crossings.sql` over the `budget_spend` view);
2. drop those already recorded in the `alerts` table; if none is left, stop (no Kafka at all);
3. open the `alerts` topic with a transactional producer whose id is per warehouse: this fences
   any other evaluation of the same warehouse still running, and aborts its open transaction;
4. read the topic to its end (read-committed): a pending crossing found there was published by an
   evaluation that died before recording it, and is only recorded now;
5. publish the rest in one transaction, and record them in the table once it committed.
A crash before 5 commits publishes nothing; one after it is healed by step 4 of the next run. The
compacted topic is the record of what was sent and the table its copy, so losing or rebuilding
the table (or the whole warehouse, then replayed) does not send anything twice either. Alerts are
never retracted: spend restated below a threshold leaves the alert that was sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from hashlib import blake2b
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from usagemart.alerts.topic import AlertError, AlertsTopic
from usagemart.settings import Settings

__all__ = ["AlertError", "Evaluation", "alert_id", "evaluate_alerts", "summary"]

logger = logging.getLogger(__name__)

QUERIES = Path(__file__).parent
COLUMNS = ("alert_id", "budget_id", "scope", "scope_value", "owner_email", "month", "cost_kind", "threshold_pct",
           "budget_amount", "spend_amount", "currency", "fired_at")
"""The fields of an `alerts` record, which are the columns of the `alerts` table it is recorded in."""
_BUDGET_SCALE = Decimal("0.01")
_SPEND_SCALE = Decimal("1e-12")

Alert = dict[str, Any]
"""An `alerts` record."""


@dataclass
class Evaluation:
    """What one evaluation found and did."""

    crossings: int = 0
    """Threshold crossings in the months evaluated, alerted before or now."""
    fired: list[Alert] = field(default_factory=list)
    """Alerts published by this evaluation."""
    restored: list[Alert] = field(default_factory=list)
    """Alerts an earlier evaluation published but did not record; recorded now, not published again."""


def alert_id(budget_id: str, month: date, cost_kind: str, threshold_pct: int) -> str:
    """The crossing's id: blake2b-128 hex of `budget_id|YYYY-MM-DD|cost_kind|threshold_pct`."""
    key = f"{budget_id}|{month.isoformat()}|{cost_kind}|{threshold_pct}"
    return blake2b(key.encode(), digest_size=16).hexdigest()


def evaluate_alerts(client: Client, settings: Settings) -> Evaluation:
    """Publish and record an alert for every threshold crossing not alerted yet (see the module doc)."""
    crossings = _crossings(client, _late_days(settings))
    pending = _unrecorded(client, crossings)
    evaluation = Evaluation(crossings=len(crossings))
    if not pending:
        return evaluation
    with AlertsTopic(settings) as topic:
        sent = topic.sent()
        evaluation.restored = [sent[alert["alert_id"]] for alert in pending if alert["alert_id"] in sent]
        fired_at = datetime.now(UTC)
        evaluation.fired = [{**alert, "fired_at": fired_at} for alert in pending if alert["alert_id"] not in sent]
        topic.publish(evaluation.fired)
    _record(client, evaluation.restored + evaluation.fired)
    logger.info("alerts: %d crossings, %d fired, %d restored", evaluation.crossings, len(evaluation.fired),
                len(evaluation.restored))
    return evaluation


def summary(alert: Alert) -> str:
    """One line: `<budget> (<scope> <value>) <YYYY-MM> <kind> spend reached <n>%: <spend> of <amount>`."""
    return (f"{alert['budget_id']} ({alert['scope']} {alert['scope_value']}) {alert['month']:%Y-%m} "
            f"{alert['cost_kind']} spend reached {alert['threshold_pct']}%: "
            f"{alert['spend_amount']:,.2f} of {alert['budget_amount']:,.2f} {alert['currency']}")


def _late_days(settings: Settings) -> int:
    # A crossing of last month can still appear as long as vendors restate its last days.
    return max(settings.anthropic_restatement_days, settings.cursor_restatement_days)


def _crossings(client: Client, late_days: int) -> list[Alert]:
    result = client.query((QUERIES / "crossings.sql").read_text(), parameters={"late_days": late_days})
    crossings = []
    for row in result.named_results():
        crossing = {**row, "budget_amount": Decimal(row["budget_amount"]).quantize(_BUDGET_SCALE),
                    "spend_amount": Decimal(row["spend_amount"]).quantize(_SPEND_SCALE)}
        crossing["alert_id"] = alert_id(row["budget_id"], row["month"], row["cost_kind"], row["threshold_pct"])
        crossings.append(crossing)
    return crossings


def _unrecorded(client: Client, crossings: list[Alert]) -> list[Alert]:
    if not crossings:
        return []
    ids = [crossing["alert_id"] for crossing in crossings]
    result = client.query((QUERIES / "recorded.sql").read_text(), parameters={"alert_ids": ids})
    recorded = {row[0] for row in result.result_rows}
    return [crossing for crossing in crossings if crossing["alert_id"] not in recorded]


def _record(client: Client, alerts: list[Alert]) -> None:
    if alerts:
        client.insert("alerts", [[alert[column] for column in COLUMNS] for alert in alerts], column_names=COLUMNS)
