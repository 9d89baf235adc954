"""The embedded ClickHouse endpoint, through clickhouse-connect and raw HTTP, against real chDB."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import socket
import subprocess
import sys
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import clickhouse_connect
import lz4.frame
import pytest
import zstandard
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from clickhouse.endpoint import endpoint_service
from usagemart.processes import BackgroundService, ServiceError, free_port

pytestmark = pytest.mark.integration

ALL_TYPES = """
CREATE TABLE {table} (
    d Date, ts DateTime64(3, 'UTC'), big Decimal(38, 10), small Decimal(18, 4), lc LowCardinality(String),
    ns Nullable(String), nf Nullable(Float64), u UInt64, i Int64, f Float64, m Map(String, String),
    a Array(String), b Bool, id UUID
) ENGINE = MergeTree ORDER BY u
"""
COLUMNS = ["d", "ts", "big", "small", "lc", "ns", "nf", "u", "i", "f", "m", "a", "b", "id"]
ROWS = [  # in `u` order
    [date(1970, 1, 1), datetime(1999, 12, 31, 23, 59, 59, 999000), Decimal("0E-10"), Decimal("0.0001"), "",
     "ünïcode\t\n", None, 0, 0, -0.5, {}, [], False, uuid.UUID(int=0)],
    [date(2149, 6, 6), datetime(2100, 1, 1), Decimal("-1.5"), Decimal("99999999999999.9999"), "cursor", "s",
     float("inf"), 7, -7, 1e-300, {"k": ""}, [""], True, uuid.UUID("ffffffff-ffff-4fff-bfff-ffffffffffff")],
    [date(2026, 3, 1), datetime(2026, 3, 1, 12, 30, 45, 123000), Decimal("12345678901234567890.0123456789"),
     Decimal("-12.3456"), "anthropic", None, 1.5, 2**64 - 1, -(2**63), 3.25, {"team": "data", "env": "prod"},
     ["a", "b'c"], True, uuid.UUID("6f1c2a4e-0000-4000-8000-000000000001")],
]

@dataclass
class Endpoint:
    port: int
    service: BackgroundService

    def client(self, database: str | None = None, **options: Any) -> Client:
        options.setdefault("autogenerate_session_id", False)
        return clickhouse_connect.get_client(host="127.0.0.1", port=self.port, compress="lz4", database=database,
                                             **options)

    def http(self, method: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             path: str = "/", **params: str) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            url = f"{path}?{urlencode(params)}" if params else path
            connection.request(method, url, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def _start(root: Path, password: str = "") -> Endpoint:
    port = free_port()
    service = endpoint_service(root / "data", root / "run", port=port, password=password)
    service.start()
    return Endpoint(port, service)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    running = _start(tmp_path_factory.mktemp("endpoint"))
    try:
        yield running
    finally:
        running.service.stop()


@pytest.fixture
def db(endpoint: Endpoint) -> Iterator[Client]:
    """A client whose database (created for the test) is its `database` parameter."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    with endpoint.client() as admin:
        admin.command(f"CREATE DATABASE {name}")
    with endpoint.client(database=name) as client:
        yield client
    with endpoint.client() as admin:
        admin.command(f"DROP DATABASE {name}")


def _rows(client: Client, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in client.query(sql).result_rows]


def test_ping_root_and_server_handshake(endpoint: Endpoint) -> None:
    assert endpoint.http("GET", path="/ping")[2] == b"Ok.\n"
    assert endpoint.http("GET")[2] == b"Ok.\n"
    assert endpoint.http("GET", path="/replicas_status")[0] == 200
    with endpoint.client() as client:
        assert (client.server_version or "").startswith("26.")
        assert str(client.server_tz) == "UTC"
        assert client.command("SELECT currentDatabase()") == "default"


def test_response_headers_follow_clickhouse(endpoint: Endpoint) -> None:
    status, headers, body = endpoint.http("POST", b"SELECT number FROM numbers(3) FORMAT JSONEachRow",
                                          query_id="q-123")
    assert status == 200 and body == b'{"number":0}\n{"number":1}\n{"number":2}\n'
    assert headers["X-ClickHouse-Query-Id"] == "q-123"
    assert headers["X-ClickHouse-Format"] == "JSONEachRow"
    assert headers["X-ClickHouse-Timezone"] == "UTC"
    assert headers["X-ClickHouse-Server-Display-Name"]
    assert json.loads(headers["X-ClickHouse-Summary"])["result_rows"] == "3"
    status, headers, body = endpoint.http("GET", query="SELECT 1", default_format="CSV")
    assert (status, body, headers["X-ClickHouse-Format"]) == (200, b"1\n", "CSV")


def test_all_design_types_round_trip_row_and_column_oriented(db: Client) -> None:
    db.command(ALL_TYPES.format(table="rows"))
    db.command(ALL_TYPES.format(table="cols"))
    assert db.insert("rows", ROWS, column_names=COLUMNS).written_rows == len(ROWS)
    db.insert("cols", [list(column) for column in zip(*ROWS)], column_names=COLUMNS, column_oriented=True)
    expected = [tuple(row) for row in ROWS]
    assert _rows(db, "SELECT * FROM rows ORDER BY u") == expected
    assert _rows(db, "SELECT * FROM cols ORDER BY u") == expected
    types = {name: kind for name, kind in _rows(db, "SELECT name, type FROM system.columns "
                                                    "WHERE database = currentDatabase() AND table = 'cols'")}
    assert types["lc"] == "LowCardinality(String)" and types["ts"] == "DateTime64(3, 'UTC')"


def test_server_side_and_client_side_parameters(endpoint: Endpoint, db: Client) -> None:
    bound = db.query("SELECT {s:String}, {n:UInt32} + 1, {xs:Array(String)}, {d:Date}",
                     parameters={"s": "it's \\ {x}", "n": 41, "xs": ["a", "b'"], "d": date(2026, 3, 1)})
    assert bound.result_rows == [("it's \\ {x}", 42, ["a", "b'"], date(2026, 3, 1))]
    assert db.query("SELECT %(s)s", parameters={"s": "client'side"}).result_rows == [("client'side",)]
    # Parameters over 4 KiB travel as multipart/form-data fields.
    ids = [uuid.uuid4().hex for _ in range(300)]
    assert db.query("SELECT length({ids:Array(String)})", parameters={"ids": ids}).result_rows == [(300,)]
    status, _, body = endpoint.http("POST", b"SELECT {a:Int8} * 2", param_a="-4")
    assert (status, body) == (200, b"-8\n")


def test_errors_surface_as_database_errors_with_the_clickhouse_text(endpoint: Endpoint, db: Client) -> None:
    with pytest.raises(DatabaseError, match=r"code: 60.*UNKNOWN_TABLE"):
        db.query("SELECT * FROM no_such_table")
    with pytest.raises(DatabaseError, match=r"code: 62.*SYNTAX_ERROR"):
        db.command("SELEC 1")
    status, headers, body = endpoint.http("POST", b"SELECT * FROM nowhere.nothing")
    assert status == 404 and headers["X-ClickHouse-Exception-Code"] in ("60", "81")
    assert body.startswith(b"Code: ") and b"DB::Exception:" in body and b"(version 26." in body
    status, headers, _ = endpoint.http("POST", b"SELECT 1; SELECT 2")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "62")


def test_failed_insert_leaves_the_connection_usable(db: Client) -> None:
    db.command("CREATE TABLE nums (n UInt64) ENGINE = MergeTree ORDER BY n")
    with pytest.raises(DatabaseError, match="INCORRECT_DATA"):
        # Already compressed: the statement goes in the `query` parameter, the data is the body.
        db.raw_insert("nums", ["n"], insert_block=lz4.frame.compress(b"1\nnot-a-number\n" + b"2\n" * 100_000),
                      fmt="CSV", compression="lz4")
    db.insert("nums", [[1], [2]], column_names=["n"])
    assert db.command("SELECT count() FROM nums") == 2


def test_inserts_in_every_format_and_encoding(endpoint: Endpoint, db: Client) -> None:
    db.command("CREATE TABLE kv (k String, v Int64) ENGINE = MergeTree ORDER BY k")
    database = db.database or ""
    insert = "INSERT INTO kv (k, v) FORMAT {}"
    bodies = {
        "CSV": b'"csv",1\n',
        "TabSeparated": b"tsv\t2\n",
        "JSONEachRow": b'{"k": "json", "v": 3}\n',
        "RowBinary": b"\x06binary" + (4).to_bytes(8, "little", signed=True),
    }
    for data_format, data in bodies.items():
        status, _, body = endpoint.http("POST", insert.format(data_format).encode() + b"\n" + data, database=database)
        assert status == 200, body
    native = endpoint.http("POST", b"SELECT 'native' AS k, toInt64(5) AS v FORMAT Native")[2]
    assert endpoint.http("POST", native, query=insert.format("Native"), database=database)[0] == 200
    zstd = zstandard.ZstdCompressor()
    encodings = {
        "gzip": (gzip.compress, "gz", 6),
        "deflate": (zlib.compress, "deflate", 7),
        # Two frames, as clickhouse-connect sends one per insert block.
        "zstd": (lambda raw: zstd.compress(raw[:9]) + zstd.compress(raw[9:]), "zstd", 8),
    }
    for encoding, (compress, key, value) in encodings.items():
        raw = f"INSERT INTO kv FORMAT CSV\n{key},{value}\n".encode()
        status, _, body = endpoint.http("POST", compress(raw), {"Content-Encoding": encoding}, database=database)
        assert status == 200, body
    assert _rows(db, "SELECT k, v FROM kv ORDER BY v") == [
        ("csv", 1), ("tsv", 2), ("json", 3), ("binary", 4), ("native", 5), ("gz", 6), ("deflate", 7), ("zstd", 8)]
    status, _, body = endpoint.http("POST", b"x", {"Content-Encoding": "br"})
    assert status == 400 and b"Content-Encoding" in body
    assert endpoint.http("POST", b"SELECT 1", compress="1")[0] == 501


@pytest.mark.parametrize("width", [9, 10, 32])
def test_native_data_may_start_with_blank_bytes(endpoint: Endpoint, db: Client, width: int) -> None:
    # A Native block starts with its column count: 9 is a tab, 10 a newline, 32 a space.
    names = [f"c{n}" for n in range(width)]
    db.command(f"CREATE TABLE wide ({', '.join(f'{name} UInt8' for name in names)}) ENGINE = Memory")
    db.insert("wide", [[1] * width, [2] * width], column_names=names)
    native = db.raw_query("SELECT * FROM wide", fmt="Native")
    assert native[0] == width
    query = "INSERT INTO wide FORMAT Native"
    assert endpoint.http("POST", native, query=query, database=db.database or "")[0] == 200
    assert endpoint.http("POST", query.encode() + b"\n" + native, database=db.database or "")[0] == 200
    assert _rows(db, "SELECT count(), sum(c0) FROM wide") == [(6, 9)]


def test_get_is_read_only(endpoint: Endpoint) -> None:
    status, headers, body = endpoint.http("GET", query="CREATE TABLE get_made (a UInt8) ENGINE = Memory")
    assert status == 500 and headers["X-ClickHouse-Exception-Code"] == "164" and b"READONLY" in body
    assert endpoint.http("POST", b"EXISTS TABLE get_made")[2] == b"0\n"


def test_database_parameter_is_isolated_between_concurrent_clients(endpoint: Endpoint) -> None:
    names = [f"iso_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with endpoint.client() as admin:
        for name in names:
            admin.command(f"CREATE DATABASE {name}")
            admin.command(f"CREATE TABLE {name}.t (who String) ENGINE = Memory")
            admin.command(f"INSERT INTO {name}.t VALUES ('{name}')")
    seen: list[tuple[str | None, str]] = []

    def ask(database: str | None) -> None:
        with endpoint.client(database=database) as client:
            for _ in range(25):
                answer = client.command("SELECT currentDatabase()")
                who = client.command("SELECT who FROM t") if database else "-"
                seen.append((database, f"{answer}/{who}"))

    threads = [threading.Thread(target=ask, args=(database,)) for database in (*names, None)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 75
    assert all(answer == (f"{database}/{database}" if database else "default/-") for database, answer in seen)
    with endpoint.client() as admin:
        for name in names:
            admin.command(f"DROP DATABASE {name}")


def test_named_sessions_keep_their_state_and_anonymous_requests_do_not(endpoint: Endpoint) -> None:
    with endpoint.client(autogenerate_session_id=True) as session:
        session.command("SET max_threads = 1")
        session.command("CREATE TEMPORARY TABLE scratch (a UInt8)")
        session.command("INSERT INTO scratch VALUES (7)")
        assert session.command("SELECT getSetting('max_threads')") == 1
        assert session.command("SELECT a FROM scratch") == 7
    with endpoint.client() as anonymous:
        anonymous.command("SET max_threads = 1")
        assert anonymous.command("SELECT getSetting('max_threads')") != 1
    _, headers, _ = endpoint.http("POST", b"SELECT 1", session_id="nope", session_check="1")
    assert headers["X-ClickHouse-Exception-Code"] == "372"


def test_two_processes_write_and_read_concurrently(endpoint: Endpoint, db: Client) -> None:
    db.command("CREATE TABLE events (worker UInt8, n UInt32) ENGINE = MergeTree ORDER BY (worker, n)")
    script = """
import sys, clickhouse_connect
port, database, worker = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
client = clickhouse_connect.get_client(host="127.0.0.1", port=port, database=database, compress="lz4")
for batch in range(20):
    client.insert("events", [[worker, batch * 500 + i] for i in range(500)], column_names=["worker", "n"])
    assert client.command(f"SELECT count() FROM events WHERE worker = {worker}") == (batch + 1) * 500
"""
    workers = [subprocess.Popen([sys.executable, "-c", script, str(endpoint.port), db.database or "", str(w)],
                                stderr=subprocess.PIPE) for w in (1, 2)]
    for worker in workers:
        _, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors.decode()
    assert _rows(db, "SELECT worker, count(), uniqExact(n) FROM events GROUP BY worker ORDER BY worker") == [
        (1, 10_000, 10_000), (2, 10_000, 10_000)]


def test_replacing_merge_tree_exchange_and_replace_partition(db: Client) -> None:
    db.command("CREATE TABLE events (id String, version UInt64, v String) "
               "ENGINE = ReplacingMergeTree(version) ORDER BY id")
    db.insert("events", [["a", 1, "old"], ["b", 1, "only"]], column_names=["id", "version", "v"])
    db.insert("events", [["a", 2, "new"]], column_names=["id", "version", "v"])
    assert _rows(db, "SELECT id, v FROM events FINAL ORDER BY id") == [("a", "new"), ("b", "only")]

    db.command("CREATE TABLE dim (k UInt8) ENGINE = MergeTree ORDER BY k")
    db.command("CREATE TABLE dim_next (k UInt8) ENGINE = MergeTree ORDER BY k")
    db.command("INSERT INTO dim_next VALUES (1), (2)")
    db.command("EXCHANGE TABLES dim AND dim_next")
    assert _rows(db, "SELECT k FROM dim ORDER BY k") == [(1,), (2,)]

    fact = "(d Date, n UInt8) ENGINE = MergeTree PARTITION BY toYYYYMM(d) ORDER BY n"
    db.command(f"CREATE TABLE fact {fact}")
    db.command(f"CREATE TABLE fact_stage {fact}")
    db.command("INSERT INTO fact VALUES ('2026-01-10', 1), ('2026-02-10', 2)")
    db.command("INSERT INTO fact_stage VALUES ('2026-01-20', 9)")
    db.command("ALTER TABLE fact REPLACE PARTITION 202601 FROM fact_stage")
    assert _rows(db, "SELECT n FROM fact ORDER BY n") == [(2,), (9,)]


def test_restart_keeps_the_data(tmp_path: Path) -> None:
    running = _start(tmp_path)
    try:
        with running.client() as client:
            client.command("CREATE TABLE kept (n UInt8) ENGINE = MergeTree ORDER BY n")
            client.insert("kept", [[1], [2], [3]], column_names=["n"])
        running.service.stop()
        running.service.start()
        with running.client() as client:
            assert client.command("SELECT sum(n) FROM kept") == 6
    finally:
        running.service.stop()


def test_password_is_required_when_set(tmp_path: Path) -> None:
    running = _start(tmp_path, password="s3cret")
    try:
        with pytest.raises(DatabaseError, match="516"):
            clickhouse_connect.get_client(host="127.0.0.1", port=running.port, password="wrong")
        status, headers, _ = running.http("POST", b"SELECT 1")
        assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "516")
        basic = base64.b64encode(b"default:s3cret").decode()
        assert running.http("POST", b"SELECT 1", {"Authorization": f"Basic {basic}"})[2] == b"1\n"
        assert running.http("POST", b"SELECT 2", user="default", password="s3cret")[2] == b"2\n"
        with clickhouse_connect.get_client(host="127.0.0.1", port=running.port, password="s3cret") as client:
            assert client.command("SELECT 3") == 3
        assert "s3cret" not in running.service.log_file.read_text()
    finally:
        running.service.stop()


def test_start_refuses_a_port_held_by_another_process(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        service = endpoint_service(tmp_path / "data", tmp_path / "run", port=squatter.getsockname()[1])
        with pytest.raises(ServiceError, match="already in use"):
            service.start()
