"""`usagemart demo`: the whole pipeline on embedded defaults, step by step, ending with the cost report.

Local Kafka and embedded ClickHouse -> migrations -> the vendor simulator -> every poller
(a 90-day backfill the first time, incremental after) -> the worker until it has caught up ->
the micro-batch marts and budget alerts -> the cost report. Kafka and ClickHouse stay up afterwards for queries
(`usagemart down` stops them); the simulator and the worker are stopped.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from batch.console import print_batch_line
from batch.runner import BatchOptions, run_batch
from clickhouse.client import connect, ensure_database
from clickhouse.migrate import migrate
from streams.ingest import INGESTED_TOPICS
from streams.offsets import group_lag
from streams.pollers import SOURCE_NAMES, source
from streams.pollers.checkpoint import CheckpointStore
from streams.pollers.source import poll_once
from usagemart import local_services
from usagemart.alerts import evaluate_alerts, summary
from usagemart.budgets import DEMO_BUDGETS, publish_budgets, read_budgets
from usagemart.report import print_report
from usagemart.processes import free_port
from usagemart.settings import Settings

BACKFILL = timedelta(days=90)
WORKER_GROUP = "usagemart-worker-ingest"


def run_demo(settings: Settings, console: Console) -> None:
    """Run every step; each prints what it did."""
    started = time.monotonic()
    console.rule("usage-mart demo")
    console.print(f"services: {', '.join(local_services.up(settings)) or 'external'} "
                  f"(kafka {settings.bootstrap_servers}, clickhouse {settings.clickhouse.safe_url})")
    ensure_database(settings.clickhouse)
    with connect(settings.clickhouse) as client:
        console.print(f"migrations applied: {len(migrate(client, settings.clickhouse_cluster))}")
    simulator = local_services.simulator(settings)
    simulator.start()
    worker = local_services.worker(settings, web_port=free_port())
    try:
        polled = _poll_everything(_against_simulator(settings), console)
        console.print(f"polled {sum(polled.values())} records from the simulator: {polled}")
        budgets = publish_budgets(settings, read_budgets(DEMO_BUDGETS, settings.default_billing_currency))
        console.print(f"budgets published: {budgets}")
        worker.start(timeout=120)
        _wait_for_worker(settings, console)
        _build_marts(settings, console)
        print_report(settings, console)
    finally:
        worker.stop()
        simulator.stop()
    console.print(f"demo done in {time.monotonic() - started:.0f}s; `usagemart down` stops Kafka and ClickHouse")


def _against_simulator(settings: Settings) -> Settings:
    url = settings.simulator_url
    return settings.model_copy(update={
        "anthropic_base_url": url, "cursor_base_url": url, "stripe_base_url": url, "product_base_url": url,
        "funnel_base_url": url, "helpdesk_base_url": url,
        "anthropic_admin_api_key": settings.anthropic_admin_api_key or SecretStr("sk-ant-admin-demo"),
        "cursor_api_key": settings.cursor_api_key or SecretStr("key_demo"),
        "stripe_api_key": settings.stripe_api_key or SecretStr("sk_test_demo"),
        "anthropic_requests_per_minute": 6000, "cursor_requests_per_minute": 6000,
    })


def _poll_everything(settings: Settings, console: Console) -> dict[str, int]:
    counts: dict[str, int] = {}
    columns = (TextColumn("{task.description:>24}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        for name in SOURCE_NAMES:
            first_run = not CheckpointStore(settings.home / "checkpoints", name).load()
            since = datetime.now(UTC) - BACKFILL if first_run else None
            counts[name] = sum(poll_once(source(name), settings, since=since, progress=progress).records.values())
    return counts


def _build_marts(settings: Settings, console: Console) -> None:
    # The worker has committed everything it consumed, so nothing is still being inserted.
    with connect(settings.clickhouse) as client:
        outcome = run_batch(client, settings, BatchOptions(settle=timedelta(0)))
        print_batch_line(console, outcome)
        for alert in evaluate_alerts(client, settings).fired:
            console.print(f"alert: {summary(alert)}")


def _wait_for_worker(settings: Settings, console: Console, timeout: float = 600) -> None:
    with Progress(TextColumn("{task.description:>24}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} records"),
                  TimeElapsedColumn(), console=console) as progress:
        initial = group_lag(settings.bootstrap_servers, WORKER_GROUP, INGESTED_TOPICS)
        task = progress.add_task("worker catching up", total=initial or 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lag = group_lag(settings.bootstrap_servers, WORKER_GROUP, INGESTED_TOPICS)
            progress.update(task, completed=initial - lag)
            if lag == 0:
                return
            time.sleep(1)
    raise TimeoutError(f"the worker did not catch up within {timeout:.0f}s; see {settings.home / 'run/worker.log'}")
