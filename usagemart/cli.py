"""The `usagemart` command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from rich.console import Console

from usagemart.processes import ServiceError
from usagemart.settings import ConfigError, Settings, load_settings

app = typer.Typer(help="usage-mart: vendor usage and billing APIs -> Kafka -> ClickHouse cost analytics.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()
F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int) -> None:
    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def command(func: F) -> F:
    """Register a CLI command that turns known failures into one clear message and an exit code."""

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as error:
            _fail(str(error), 2)
        except ServiceError as error:
            _fail(str(error), 1)

    return app.command()(run)  # type: ignore[return-value]


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
    source_name: str = typer.Argument(..., metavar="SOURCE", help="anthropic, cursor, stripe or product"),
    since: datetime | None = typer.Option(None, help="Backfill from this instant (UTC), e.g. 2026-08-01."),
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
    start = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
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
