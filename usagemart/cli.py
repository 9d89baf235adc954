"""The `usagemart` command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
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
