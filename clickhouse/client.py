"""The connection layer: every process talks to ClickHouse through `clickhouse-connect`."""

from __future__ import annotations

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from usagemart.settings import ClickHouseTarget


def connect(target: ClickHouseTarget, *, database: str | None = None, **settings: object) -> Client:
    """A client for `target`; `database=""` connects without selecting one (to create it)."""
    return clickhouse_connect.get_client(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
        secure=target.secure,
        database=target.database if database is None else (database or None),
        settings=dict(settings) or None,
        # Inserts are lz4-compressed Native; the embedded endpoint decodes it like a server does.
        compress="lz4",
        autogenerate_session_id=False,
        connect_timeout=5,
        send_receive_timeout=300,
    )


def ensure_database(target: ClickHouseTarget, on_cluster: str = "") -> None:
    """Create the target database if it does not exist."""
    with connect(target, database="") as client:
        client.command(f"CREATE DATABASE IF NOT EXISTS `{target.database}` {on_cluster}")
