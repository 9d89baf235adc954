"""`usagemart report`: the cost report, month to date, from ClickHouse.

Vendor-reported and estimated costs are separate columns, never added together.
"""

from __future__ import annotations

from pathlib import Path

from clickhouse_connect.driver.client import Client
from rich.console import Console
from rich.table import Table

from clickhouse.client import connect
from usagemart.settings import Settings

QUERIES = Path(__file__).parent


def query(client: Client, name: str) -> tuple[list[str], list[tuple[object, ...]]]:
    """Run `usagemart/report/<name>.sql`; return column names and rows."""
    result = client.query((QUERIES / f"{name}.sql").read_text())
    return list(result.column_names), [tuple(row) for row in result.result_rows]


def print_report(settings: Settings, console: Console) -> None:
    """Print every section of the report."""
    with connect(settings.clickhouse) as client:
        for name, title in (("spend_by_platform", "Spend by platform, month to date (USD)"),
                            ("top_people", "Top people by spend, month to date"),
                            ("top_models", "Top models by estimated API spend, month to date")):
            columns, rows = query(client, name)
            table = Table(title=title, title_justify="left")
            for column in columns:
                table.add_column(column, justify="left" if column in {"platform", "person", "model"} else "right")
            for row in rows:
                table.add_row(*(_cell(value) for value in row))
            console.print(table)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)
