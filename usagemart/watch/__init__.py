"""`usagemart watch`: the live terminal cost monitor, a frame of tables redrawn every few seconds.

Each section is one SQL file. Spend now and top spenders are the cost report's own queries, so the
monitor and the report agree; the others are next to this module and read the views the Grafana
dashboards read (`burn_rate`, `source_freshness`) and the `dlq_records` and `alerts` tables. A
section that fails (ClickHouse away, a table not migrated yet) shows its error in its place and
the others still show; the next frame tries again.

Cells are formatted by column name: `*_usd` money, `*_s` a duration, `*_at` a UTC time, `*_pct`
a percentage.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from batch.engine_adapter import error_summary
from clickhouse.client import connect
from usagemart.report import QUERIES as REPORT_QUERIES
from usagemart.settings import Settings

QUERIES = Path(__file__).parent


@dataclass(frozen=True)
class Section:
    """A titled table of the frame: the rows of one SQL file."""

    title: str
    query: Path
    empty: str
    """Shown instead of rows when there are none."""


SECTIONS = (
    Section("Spend now (USD): month to date and today", REPORT_QUERIES / "spend_by_platform.sql",
            "no spend this month yet"),
    Section("Burn rate (USD)", QUERIES / "burn_rate.sql", "no spend since yesterday"),
    Section("Top spenders, month to date (USD)", REPORT_QUERIES / "top_people.sql", "no spend this month yet"),
    Section("Freshness per source", QUERIES / "freshness.sql", "nothing landed yet"),
    Section("Dead letters", QUERIES / "dead_letters.sql", "none"),
    Section("Recent alerts", QUERIES / "recent_alerts.sql", "none sent"),
)


@dataclass(frozen=True)
class Frame:
    """One screenful, and whether every section of it could be read."""

    renderable: RenderableType
    ok: bool


def watch(settings: Settings, console: Console, every: float, once: bool = False) -> bool:
    """Redraw a frame every `every` seconds until Ctrl-C, or print one with `once`.

    Returns whether every section of the last frame could be read.
    """
    frame = render(settings)
    if once:
        console.print(frame.renderable)
        return frame.ok
    with Live(frame.renderable, console=console, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(every)
                frame = render(settings)
                live.update(frame.renderable, refresh=True)
        except KeyboardInterrupt:
            return frame.ok


def render(settings: Settings, sections: Sequence[Section] = SECTIONS) -> Frame:
    """A frame: a header line, then every section's table (or its error)."""
    header = Text(f"usage-mart watch · {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC · {settings.clickhouse.safe_url}",
                  style="bold")
    try:
        with connect(settings.clickhouse) as client:
            parts = [_section(client, section) for section in sections]
    except ClickHouseError as error:
        return Frame(Group(header, Text(f"ClickHouse unavailable: {error_summary(error)}", style="red")), False)
    return Frame(Group(header, Columns([part for part, _ in parts], padding=(1, 2))), all(ok for _, ok in parts))


def _section(client: Client, section: Section) -> tuple[RenderableType, bool]:
    try:
        result = client.query(section.query.read_text())
    except ClickHouseError as error:
        return Text(f"{section.title}: unavailable ({error_summary(error)})", style="red"), False
    if not result.result_rows:
        return Group(Text(section.title, style="bold"), Text(section.empty, style="dim")), True
    columns = list(result.column_names)
    table = Table(title=section.title, title_justify="left", title_style="bold")
    for column, column_type in zip(columns, result.column_types, strict=True):
        numeric = column_type.python_type in (int, float) or column.endswith(("_usd", "_s", "_pct"))
        table.add_column(column, justify="right" if numeric else "left")
    for row in result.result_rows:
        table.add_row(*(_cell(column, value) for column, value in zip(columns, row, strict=True)))
    return table, True


def _cell(column: str, value: object) -> str:
    if value is None:
        return "—"
    if column.endswith("_usd") and isinstance(value, int | float):
        return f"{value:,.2f}"
    if column.endswith("_s") and isinstance(value, int | float):
        return _duration(int(value))
    if isinstance(value, datetime):
        # Naive values are UTC: the tables' times are DateTime64(3, 'UTC').
        return f"{(value.astimezone(UTC) if value.tzinfo else value):%m-%d %H:%M:%S}"
    if column.endswith("_pct"):
        return f"{value}%"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _duration(seconds: int) -> str:
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {seconds:02d}s" if minutes else f"{sign}{seconds}s"
