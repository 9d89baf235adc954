"""Everything the batch asks of ClickHouse in particular: staging tables, atomic swaps, partitions.

The runner and the materializations speak in these operations only; cluster mode (`ON CLUSTER`,
Replicated engines) and the engine's quirks are handled here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from clickhouse_connect.driver.client import Client

from batch.model import ModelMeta
from batch.template import literal

_INSERT_SETTINGS = {
    # A full rebuild of a day-partitioned table writes hundreds of partitions in one INSERT; the
    # default limit (100) guards ad-hoc inserts against mistakes, not this.
    "max_partitions_per_insert_block": 0,
    # Models group by a prefix of their input's sorting key (refined usage: the natural key); in
    # order, that aggregation streams instead of holding every key in memory (5x faster at 10M rows).
    "optimize_aggregation_in_order": 1,
}


def error_summary(error: Exception) -> str:
    """The line of a clickhouse-connect error that says what went wrong."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class EngineAdapter:
    """ClickHouse operations of the batch, on one database (the client's)."""

    def __init__(self, client: Client, cluster: str | None = None) -> None:
        self.client = client
        self._on_cluster = f" ON CLUSTER `{cluster}`" if cluster else ""
        self._replicated = "Replicated" if cluster else ""

    def now(self) -> datetime:
        """The server's clock (landing times are stamped by it, so watermarks use it too)."""
        value: datetime = self._scalar("SELECT now64(3, 'UTC')")
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def exists(self, name: str) -> bool:
        """True when a table or view `name` exists."""
        return bool(self._scalar(f"EXISTS TABLE `{name}`"))

    def relations(self, pattern: str, older_than: timedelta = timedelta(0)) -> list[str]:
        """Tables and views whose names match the regular expression `pattern`, created `older_than` ago or more."""
        rows = self.client.query("SELECT name FROM system.tables WHERE database = currentDatabase() "
                                 "AND match(name, {pattern:String}) "
                                 "AND metadata_modification_time <= now() - toIntervalSecond({age:UInt64})",
                                 parameters={"pattern": pattern, "age": int(older_than.total_seconds())})
        return [row[0] for row in rows.result_rows]

    def landed(self, tables: Iterable[str], since: datetime, until: datetime) -> set[str]:
        """The tables of `tables` that rows landed in with `since < ingested_at <= until`.

        A table without an `ingested_at` column cannot tell, and counts as changed.
        """
        wanted = set(tables)
        rows = self.client.query("SELECT table FROM system.columns WHERE database = currentDatabase() "
                                 "AND name = 'ingested_at' AND has({tables:Array(String)}, table)",
                                 parameters={"tables": sorted(wanted)}).result_rows
        stamped = {row[0] for row in rows}
        window = f"ingested_at > {literal(since)} AND ingested_at <= {literal(until)}"
        return (wanted - stamped) | {table for table in stamped
                                     if self._scalar(f"SELECT count() > 0 FROM `{table}` WHERE {window}")}

    def drop(self, name: str) -> None:
        """Drop a table or view if it exists."""
        self.client.command(f"DROP TABLE IF EXISTS `{name}`{self._on_cluster} SYNC")

    def create_view(self, name: str, query: str, *, replace: bool = False) -> None:
        """Create (or replace) a view."""
        verb = "CREATE OR REPLACE VIEW" if replace else "CREATE VIEW"
        self.client.command(f"{verb} `{name}`{self._on_cluster} AS {query}")

    def create_table(self, name: str, query: str, meta: ModelMeta) -> None:
        """Create an empty table shaped by `query`'s result, stored as `meta` says."""
        partition = f" PARTITION BY {meta.partition_by}" if meta.partition_by else ""
        order = f"({', '.join(meta.sorting_key)})" if meta.sorting_key else "tuple()"
        self.client.command(f"CREATE TABLE `{name}`{self._on_cluster} ENGINE = {self._replicated}{meta.engine}"
                            f"{partition} ORDER BY {order} EMPTY AS {query}")

    def create_table_like(self, name: str, like: str) -> None:
        """Create an empty table with the structure and engine of `like`."""
        self.client.command(f"CREATE TABLE `{name}`{self._on_cluster} AS `{like}`")

    def insert(self, name: str, query: str) -> None:
        """Insert `query`'s rows into `name`."""
        self.client.command(f"INSERT INTO `{name}` {query}", settings=_INSERT_SETTINGS)

    def count(self, name: str) -> int:
        """Rows in `name`."""
        return int(self._scalar(f"SELECT count() FROM `{name}`"))

    def distinct_dates(self, name: str, column: str) -> set[date]:
        """The distinct values of the date column `column` in `name`."""
        return {row[0] for row in self.client.query(f"SELECT DISTINCT {column} FROM `{name}`").result_rows}

    def swap(self, staged: str, target: str) -> None:
        """Make `staged` the new `target` in one step; the old target is left under `staged`'s name."""
        if self.exists(target):
            self.client.command(f"EXCHANGE TABLES `{staged}` AND `{target}`{self._on_cluster}")
        else:
            self.client.command(f"RENAME TABLE `{staged}` TO `{target}`{self._on_cluster}")

    def partition_ids(self, name: str) -> set[str]:
        """Ids of the partitions that hold data in `name`."""
        rows = self.client.query("SELECT DISTINCT partition_id FROM system.parts WHERE database = currentDatabase() "
                                 "AND table = {name:String} AND active", parameters={"name": name})
        return {row[0] for row in rows.result_rows}

    def partitions_of(self, meta: ModelMeta, dates: Iterable[date]) -> list[tuple[date | int | str, str]]:
        """(value, id) of each partition of a `meta`-shaped table that holds rows of `dates`."""
        days = ", ".join(literal(day) for day in sorted(dates))
        rows = self.client.query(
            f"SELECT DISTINCT {meta.partition_by} AS value, partitionId(value) FROM "
            f"(SELECT arrayJoin(CAST([{days}] AS Array(Date))) AS {meta.time_column}) ORDER BY value")
        return [(value, partition_id) for value, partition_id in rows.result_rows]

    def replace_partitions(self, target: str, staged: str, partition_ids: Iterable[str]) -> None:
        """Swap each partition of `target` for `staged`'s, one atomic step per partition.

        A partition `staged` has no rows of is dropped from `target`: since 26.x, REPLACE
        PARTITION from an empty source partition is refused rather than emptying the target's.
        """
        holding = self.partition_ids(staged)
        for partition_id in partition_ids:
            if partition_id in holding:
                self.client.command(f"ALTER TABLE `{target}`{self._on_cluster} "
                                    f"REPLACE PARTITION ID '{partition_id}' FROM `{staged}`")
            else:
                self.client.command(f"ALTER TABLE `{target}`{self._on_cluster} DROP PARTITION ID '{partition_id}'")

    def changed_dates(self, new: str, old: str, time_column: str) -> set[date]:
        """Values of `time_column` whose rows differ between the tables `new` and `old`."""
        rows = self.client.query(f"SELECT DISTINCT {time_column} FROM ({self._difference(new, old, time_column)})")
        return {row[0] for row in rows.result_rows}

    def differs(self, new: str, old: str) -> bool:
        """True when the tables `new` and `old` do not hold the same rows."""
        return bool(self._scalar(f"SELECT count() > 0 FROM ({self._difference(new, old, '')})"))

    def _scalar(self, sql: str) -> Any:
        return self.client.query(sql).result_rows[0][0]

    @staticmethod
    def _difference(new: str, old: str, group: str) -> str:
        # Rows as hashes of the whole tuple (cityHash64 of the bare columns would be null when one
        # of them is); a hash whose copies do not cancel out is in one table only.
        keys = f"{group}, row_hash" if group else "row_hash"
        selected = f"{group}, " if group else ""
        return (f"SELECT {keys} FROM (SELECT {selected}cityHash64(tuple(*)) AS row_hash, 1 AS side FROM `{new}` "
                f"UNION ALL SELECT {selected}cityHash64(tuple(*)) AS row_hash, -1 AS side FROM `{old}`) "
                f"GROUP BY {keys} HAVING sum(side) != 0")
