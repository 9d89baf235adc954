"""Insert throughput: chDB in process versus clickhouse-connect through the embedded endpoint.

    python bench/endpoint_insert.py [--rows 1000000] [--batch 100000]

The same rows (a usage-event shape, 12 columns) go into a ReplacingMergeTree table four ways:
  (a)  chDB in process, fed ready-made Native bytes with a streaming insert: the engine alone;
  (a') clickhouse-connect's in-process chDB client: the client's encoding, no HTTP;
  (b)  clickhouse-connect to the endpoint over HTTP (lz4, column-oriented, batches): in use;
  (b') the ready-made Native bytes, lz4-compressed, posted to the endpoint: the endpoint alone.
The endpoint runs as its own process, as it does in use; (a) and (a') share one data directory
in this process.
"""

from __future__ import annotations

import argparse
import http.client
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import clickhouse_connect
import lz4.frame
from chdb.session import Session
from clickhouse_connect.driver.client import Client

from clickhouse.endpoint import endpoint_service
from usagemart.processes import free_port

TABLE_DDL = """
CREATE TABLE {table} (
    event_id String,
    event_version UInt64,
    source LowCardinality(String),
    event_time DateTime64(3, 'UTC'),
    report_date Date,
    customer_id String,
    user_email Nullable(String),
    model LowCardinality(String),
    input_tokens UInt64,
    output_tokens UInt64,
    cost_usd Decimal(38, 10),
    currency LowCardinality(String)
) ENGINE = ReplacingMergeTree(event_version) PARTITION BY toYYYYMM(report_date) ORDER BY event_id
"""
COLUMNS = ("event_id", "event_version", "source", "event_time", "report_date", "customer_id", "user_email",
           "model", "input_tokens", "output_tokens", "cost_usd", "currency")
SOURCES = ("anthropic.usage", "cursor.usage_events", "product.usage")
MODELS = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5", "cursor-small")
START = datetime(2026, 3, 1, tzinfo=timezone.utc)


def usage_columns(rows: int, seed: int = 42) -> list[list[Any]]:
    """Column-oriented usage events, deterministic for a seed."""
    rng = random.Random(seed)
    times = [START + timedelta(milliseconds=rng.randrange(30 * 86_400_000)) for _ in range(rows)]
    customers = [f"cus_{n:06d}" for n in range(5_000)]
    return [
        [uuid.UUID(int=rng.getrandbits(128)).hex for _ in range(rows)],
        [rng.randrange(1, 4) for _ in range(rows)],
        [rng.choice(SOURCES) for _ in range(rows)],
        times,
        [moment.date() for moment in times],
        [rng.choice(customers) for _ in range(rows)],
        [None if rng.random() < 0.2 else f"user{rng.randrange(2_000)}@example.com" for _ in range(rows)],
        [rng.choice(MODELS) for _ in range(rows)],
        [rng.randrange(100_000) for _ in range(rows)],
        [rng.randrange(20_000) for _ in range(rows)],
        [Decimal(rng.randrange(10**9)).scaleb(-8) for _ in range(rows)],
        ["USD"] * rows,
    ]


def timed(label: str, rows: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    rate = rows / elapsed
    print(f"{label:<66} {elapsed:6.2f} s {rate:>11,.0f} rows/s")
    return rate


def batches(columns: Sequence[list[Any]], size: int) -> list[list[list[Any]]]:
    rows = len(columns[0])
    return [[column[start:start + size] for column in columns] for start in range(0, rows, size)]


def insert_batches(client: Client, table: str, parts: list[list[list[Any]]]) -> None:
    for part in parts:
        client.insert(table, part, column_names=COLUMNS, column_oriented=True)


def post_native(port: int, table: str, blocks: list[bytes]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for block in blocks:
        connection.request("POST", f"/?query=INSERT%20INTO%20{table}%20FORMAT%20Native", body=block,
                           headers={"Content-Encoding": "lz4"})
        response = connection.getresponse()
        assert response.status == 200, response.read()
        response.read()
    connection.close()


def count(client: Client, table: str) -> int:
    return int(client.command(f"SELECT count() FROM {table}"))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()

    print(f"generating {args.rows:,} usage events ...")
    columns = usage_columns(args.rows)
    parts = batches(columns, args.batch)

    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as scratch:
        root = Path(scratch).resolve()
        local = clickhouse_connect.get_client(interface="chdb", path=str(root / "direct"))
        session = Session(str(root / "direct"))  # the same engine as `local`: one per process and path
        local.command(TABLE_DDL.format(table="events_connect"))
        local.command(TABLE_DDL.format(table="events_direct"))
        client_rate = timed(f"(a') clickhouse-connect, chDB in process, {args.batch:,}/batch", args.rows,
                            lambda: insert_batches(local, "events_connect", parts))
        # Native bytes of the same rows, made before the clock starts: (a) times the engine only.
        native = [local.raw_query(f"SELECT * FROM events_connect ORDER BY event_id LIMIT {args.batch} "
                                  f"OFFSET {start}", fmt="Native") for start in range(0, args.rows, args.batch)]

        def direct() -> None:
            for block in native:
                inserter = session.send_insert(f"INSERT INTO events_direct ({', '.join(COLUMNS)})", "Native")
                inserter.append(block)
                inserter.finish()

        direct_rate = timed("(a)  chDB in process, streaming insert of Native bytes", args.rows, direct)
        assert count(local, "events_direct") == count(local, "events_connect") == args.rows
        session.close()
        local.close()

        port = free_port()
        service = endpoint_service(root / "endpoint", root / "run", port=port)
        service.start()
        try:
            remote = clickhouse_connect.get_client(host="127.0.0.1", port=port, compress="lz4",
                                                   autogenerate_session_id=False)
            remote.command(TABLE_DDL.format(table="events_endpoint"))
            endpoint_rate = timed(f"(b)  clickhouse-connect -> endpoint (HTTP, lz4), {args.batch:,}/batch",
                                  args.rows, lambda: insert_batches(remote, "events_endpoint", parts))
            assert count(remote, "events_endpoint") == args.rows
            remote.command(TABLE_DDL.format(table="events_posted"))
            compressed = [lz4.frame.compress(block) for block in native]
            posted_rate = timed("(b') ready-made Native bytes -> endpoint (HTTP, lz4)", args.rows,
                                lambda: post_native(port, "events_posted", compressed))
            assert count(remote, "events_posted") == args.rows
            remote.close()
        finally:
            service.stop()

    print(f"ratio b/a  = {endpoint_rate / direct_rate:.2f}  (endpoint vs the engine alone)")
    print(f"ratio b/a' = {endpoint_rate / client_rate:.2f}  (endpoint vs the same client in process)")
    print(f"ratio b'/a = {posted_rate / direct_rate:.2f}  (the endpoint's own cost, no client encoding)")


if __name__ == "__main__":
    main()
