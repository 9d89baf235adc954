"""Apply `clickhouse/migrations/*.sql` in order, once each, recorded in `schema_migrations`.

Files are plain SQL, statements separated by `;` at the end of a line. Two placeholders make
cluster mode a setting instead of a fork of the SQL: `${on_cluster}` (empty, or
`ON CLUSTER <name>`) and `${replicated}` (empty, or `Replicated` before a MergeTree engine).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")


class MigrationError(RuntimeError):
    """A migration statement failed; the message names the file and the statement."""


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def statements(self, on_cluster: str, replicated: str) -> list[str]:
        """The file's statements with the cluster placeholders filled in."""
        text = Template(self.path.read_text()).substitute(on_cluster=on_cluster, replicated=replicated)
        return [s.strip() for s in _STATEMENT_END.split(text) if _has_code(s)]


def _has_code(fragment: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in fragment.splitlines())


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migration files in apply order (by file name)."""
    return [Migration(path) for path in sorted(directory.glob("*.sql"))]


def _ensure_ledger(client: Client, on_cluster: str, replicated: str) -> None:
    client.command(
        f"CREATE TABLE IF NOT EXISTS schema_migrations {on_cluster} "
        "(name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        f"ENGINE = {replicated}ReplacingMergeTree(applied_at) ORDER BY name"
    )


def applied(client: Client) -> dict[str, str]:
    """Names and checksums of the migrations already applied."""
    rows = client.query("SELECT name, argMax(checksum, applied_at) FROM schema_migrations GROUP BY name")
    return {name: checksum for name, checksum in rows.result_rows}


def migrate(client: Client, cluster: str | None = None, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations in order; return the names applied (empty when up to date)."""
    on_cluster = f"ON CLUSTER `{cluster}`" if cluster else ""
    replicated = "Replicated" if cluster else ""
    _ensure_ledger(client, on_cluster, replicated)
    done = applied(client)
    newly_applied: list[str] = []
    for migration in discover(directory):
        if migration.name in done:
            if done[migration.name] != migration.checksum:
                logger.warning("migration %s changed after it was applied; not re-applied", migration.name)
            continue
        for statement in migration.statements(on_cluster, replicated):
            try:
                client.command(statement)
            except ClickHouseError as error:
                first_line = next(line for line in statement.splitlines() if _has_code(line))
                raise MigrationError(f"{migration.path}: statement `{first_line} …` failed: {error}") from None
        client.insert("schema_migrations", [[migration.name, migration.checksum]], column_names=["name", "checksum"])
        logger.info("applied migration %s", migration.name)
        newly_applied.append(migration.name)
    return newly_applied
