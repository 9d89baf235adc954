"""The `usagemart` command."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial, wraps
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from usagemart.processes import ServiceError
from usagemart.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

app = typer.Typer(help="usage-mart: vendor usage and billing APIs -> Kafka -> ClickHouse cost analytics.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def command(func: F, group: typer.Typer | None = None, name: str | None = None) -> F:
    """Register a CLI command (on `group`, default the top level) that turns known failures into one clear
    message and an exit code."""

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as error:
            _fail(str(error), 2)
        except ServiceError as error:
            _fail(str(error), 1)

    return (group or app).command(name)(run)  # type: ignore[return-value]


def settings() -> Settings:
    """Settings from the environment, validated."""
    return load_settings()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@command
def up() -> None:
    """Start the local services (Kafka broker, embedded ClickHouse endpoint) unless configured externally."""
    from usagemart.local_services import up as start

    config = settings()
    started = start(config)
    console.print(f"running: {', '.join(started) or 'nothing (external Kafka and ClickHouse configured)'}")
    console.print(f"kafka: {config.bootstrap_servers}   clickhouse: {config.clickhouse.safe_url}")


@command
def down() -> None:
    """Stop the local services."""
    from usagemart.local_services import down as stop

    stopped = stop(settings())
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@command
def migrate() -> None:
    """Apply ClickHouse migrations (safe to run twice)."""
    from clickhouse.client import connect, ensure_database
    from clickhouse.migrate import MigrationError, migrate as apply

    config = settings()
    on_cluster = f"ON CLUSTER `{config.clickhouse_cluster}`" if config.clickhouse_cluster else ""
    ensure_database(config.clickhouse, on_cluster)
    with connect(config.clickhouse) as client:
        try:
            names = apply(client, config.clickhouse_cluster)
        except MigrationError as error:
            _fail(str(error), 1)
    console.print(f"applied: {', '.join(names)}" if names else "migrations: up to date")


@command
def demo() -> None:
    """The main job on embedded defaults; prints what it did."""
    from usagemart.demo import run_demo

    run_demo(settings(), console)


@command
def poll(
    source_name: str = typer.Argument(..., metavar="SOURCE", help="anthropic, cursor, stripe, product, funnel or helpdesk"),
    since: datetime | None = typer.Option(None, help="Backfill from this instant (UTC), e.g. 2026-08-01; "
                                          "re-running the same --since resumes from the checkpoint."),
    once: bool = typer.Option(False, "--once", help="One pass, then exit."),
) -> None:
    """Run a poller: continuously at the source's cadence, or one pass with --once / --since."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from streams.pollers import SOURCE_NAMES, source
    from streams.pollers.source import poll_forever, poll_once
    from streams.pollers.vendor_http import PollError
    from streams.topics import ensure_topics

    if source_name not in SOURCE_NAMES:
        _fail(f"unknown source {source_name!r}; one of {', '.join(SOURCE_NAMES)}", 2)
    config = settings()
    chosen = source(source_name)
    chosen.client(config).close()  # fail fast on missing credentials, before any work
    ensure_topics(config.bootstrap_servers)
    if not once and since is None:
        poll_forever(chosen, config)
        return
    start = _utc(since) if since else None
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, disable=since is None) as progress:
            result = poll_once(chosen, config, since=start, progress=progress)
    except PollError as error:
        _fail(str(error), 1)
    console.print(f"{source_name}: {sum(result.records.values())} records in {result.requests} requests "
                  f"({', '.join(f'{name}={count}' for name, count in result.records.items())})")


@command
def simulate(
    port: int | None = typer.Option(None, help="Port on 127.0.0.1 (default SIMULATOR_PORT, 8765)."),
    seed: int = typer.Option(7, help="Seed of the generated world: same seed, same data."),
    days: int = typer.Option(90, help="Days of history ending now."),
) -> None:
    """Serve the vendor API simulator (Anthropic, Cursor, Stripe, product usage) on loopback."""
    from streams.simulator.server import run_simulator

    config = settings()
    chosen = port or config.simulator_port
    console.print(f"simulator on http://127.0.0.1:{chosen} (seed {seed}, {days} days)")
    run_simulator("127.0.0.1", chosen, seed, days=days)


@command
def worker(
    web_port: int = typer.Option(6066, help="Port of the worker's web server (Prometheus /metrics) on 127.0.0.1."),
) -> None:
    """Run the Faust worker: reference agents and tables, batch ingest into ClickHouse, DLQ, metrics."""
    from streams.app import run_worker
    from streams.topics import ensure_topics

    config = settings()
    ensure_topics(config.bootstrap_servers)
    run_worker(config, web_port=web_port)


@command
def replay(
    from_: str = typer.Option("earliest", "--from", help="'earliest' or an ISO time (UTC) to re-process from."),
    topics: list[str] = typer.Option(None, "--topics", help="Raw/reference topics (default: all)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild events and landing tables from the earliest "
                                                          "offsets into shadow tables and swap them in."),
) -> None:
    """Re-process raw topics from a point in time; converges on the same rows."""
    from rich.progress import Progress

    from streams.ingest import INGESTED_TOPICS
    from streams.replay import replay as run_replay

    config = settings()
    start = None if from_ == "earliest" else _utc(datetime.fromisoformat(from_))
    unknown = set(topics or []) - set(INGESTED_TOPICS)
    if unknown:
        _fail(f"--topics: not raw or reference topics: {', '.join(sorted(unknown))}", 2)
    with Progress(console=console) as progress:
        task = progress.add_task("rebuild" if rebuild else "replay", total=None)
        totals = run_replay(config, start, topics or INGESTED_TOPICS, rebuild,
                            lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"replayed {totals.consumed} records: {totals.usage_events} usage events, "
                  f"{totals.cost_events} cost events, {totals.dead_letters} dead letters")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@command
def report() -> None:
    """Print the cost report (month to date; reported and estimated kept apart)."""
    from usagemart.report import print_report

    print_report(settings(), console)


batch_app = typer.Typer(help="Micro-batch marts: build what landed since the last batch and publish it.",
                        no_args_is_help=True)
app.add_typer(batch_app, name="batch")


def batch_command(name: str) -> Callable[[F], F]:
    """Register `usagemart batch <name>` the way `command` registers a top-level command."""
    return lambda func: command(func, group=batch_app, name=name)


@contextmanager
def _batch_client(config: Settings) -> Iterator[Client]:
    """A client for the batch commands: a failed batch, alert evaluation or an unreachable ClickHouse ends in one
    clear error."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from batch.engine_adapter import error_summary
    from batch.runner import BatchError
    from clickhouse.client import connect
    from usagemart.alerts import AlertError

    try:
        with connect(config.clickhouse) as client:
            yield client
    except (BatchError, AlertError) as error:
        _fail(str(error), 1)
    except ClickHouseError as error:
        _fail(f"ClickHouse at {config.clickhouse.safe_url}: {error_summary(error)}", 1)


@batch_command("run")
def batch_run(
    from_: datetime | None = typer.Option(None, "--from", formats=["%Y-%m-%d"],
                                          help="Also rebuild the fact partitions of report dates from this day."),
    to: datetime | None = typer.Option(None, "--to", formats=["%Y-%m-%d"],
                                       help="Last report date rebuilt with --from (default: today, UTC)."),
    full: bool = typer.Option(False, "--full", help="Rebuild every model whole from everything landed."),
) -> None:
    """Run one micro-batch: build what landed since the last batch, publish it, run the data tests."""
    from batch.console import print_batch
    from batch.project import load_project
    from batch.runner import BatchOptions, run_batch

    if to and not from_:
        _fail("--to needs --from", 2)
    dates = (from_.date(), (to or datetime.now(UTC)).date()) if from_ else None
    if dates and dates[0] > dates[1]:
        _fail(f"--from {dates[0]} is after --to {dates[1]}", 2)
    config = settings()
    with _batch_client(config) as client:
        outcome = run_batch(client, config, BatchOptions(full=full, dates=dates), load_project())
        print_batch(console, outcome)
        _evaluate_alerts(client, config)


def _interval_seconds(text: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*", text)
    if match is None or float(match[1]) <= 0:
        raise typer.BadParameter("expected a positive interval such as 60s, 5m or 1h")
    return float(match[1]) * {"s": 1, "m": 60, "h": 3600}[match[2] or "s"]


@batch_command("schedule")
def batch_schedule(
    every: float | None = typer.Option(None, "--every", parser=_interval_seconds, metavar="INTERVAL",
                                       help="Interval such as 60s or 5m (default: BATCH_INTERVAL_SECONDS)."),
) -> None:
    """Run a micro-batch at every interval until stopped; a failed batch is retried at the next one."""
    import signal
    import threading

    from clickhouse_connect.driver.exceptions import ClickHouseError

    from batch.console import print_batch_line
    from batch.engine_adapter import error_summary
    from batch.runner import BatchOutcome, run_on_schedule
    from usagemart.alerts import AlertError

    config = settings()
    seconds = every or float(config.batch_interval_seconds)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    console.print(f"batch every {seconds:g} s on {config.clickhouse.safe_url}; Ctrl-C stops")
    with _batch_client(config) as client:

        def after_batch(outcome: BatchOutcome) -> None:
            print_batch_line(console, outcome)
            try:
                _evaluate_alerts(client, config)
            except (AlertError, ClickHouseError) as error:
                # Crossings stay crossed: the next batch's evaluation publishes what this one could not.
                console.print(f"[red]alerts not evaluated:[/] {error_summary(error)}", highlight=False)

        run_on_schedule(client, config, seconds, stop, after_batch)


@command
def check() -> None:
    """Run the data tests on the marts, store and print their results; exit 1 when one fails."""
    import uuid

    from batch.console import print_tests
    from batch.data_tests import load_data_tests, run_data_tests
    from batch.project import load_project
    from batch.runner import model_variables

    config = settings()
    with _batch_client(config) as client:
        results = run_data_tests(client, load_data_tests(load_project()), model_variables(config), uuid.uuid4().hex)
    print_tests(console, results)
    if any(result.failed for result in results):
        raise typer.Exit(1)


budgets_app = typer.Typer(help="Budgets per person, team or platform (reference data on ref.budgets).",
                          no_args_is_help=True)
app.add_typer(budgets_app, name="budgets")


@partial(command, group=budgets_app, name="load")
def budgets_load(
    path: Path = typer.Argument(..., metavar="FILE.csv",
                                help="One budget per row (columns: see usagemart/budgets/__init__.py), "
                                     "e.g. usagemart/budgets/demo_budgets.csv."),
) -> None:
    """Validate a budgets CSV file and publish every row to ref.budgets (the latest record per budget_id wins)."""
    from usagemart.budgets import BudgetFileError, publish_budgets, read_budgets

    config = settings()
    try:
        budgets = read_budgets(path, config.default_billing_currency)
    except BudgetFileError as error:
        _fail(str(error), 2)
    console.print(f"published {publish_budgets(config, budgets)} budgets to ref.budgets")


alerts_app = typer.Typer(help="Budget alerts: one per threshold crossing, on the alerts topic and table.",
                         no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@partial(command, group=alerts_app, name="evaluate")
def alerts_evaluate() -> None:
    """Publish an alert for each budget threshold crossed and not alerted yet (`batch run` and `batch schedule`
    do this after every batch)."""
    config = settings()
    with _batch_client(config) as client:
        _evaluate_alerts(client, config)


def _evaluate_alerts(client: Client, config: Settings) -> None:
    """Publish the alerts of new threshold crossings and print them."""
    from usagemart.alerts import evaluate_alerts, summary

    evaluation = evaluate_alerts(client, config)
    for alert in evaluation.fired:
        console.print(f"[bold yellow]alert[/] {summary(alert)}", highlight=False)
    if evaluation.restored:
        console.print(f"alerts: recorded {len(evaluation.restored)} sent by an evaluation that did not finish")
    if not evaluation.fired:
        console.print(f"alerts: no new threshold crossing ({evaluation.crossings} alerted before)")


@command
def watch(
    every: float = typer.Option(5.0, "--every", min=0.5, help="Seconds between refreshes."),
    once: bool = typer.Option(False, "--once", help="Print one frame and exit (exit 1 if a section failed)."),
) -> None:
    """Live terminal cost monitor: spend now, burn rate, top spenders, freshness, dead letters, recent alerts."""
    from usagemart.watch import watch as run_watch

    if not run_watch(settings(), console, every=every, once=once):
        raise typer.Exit(1)
