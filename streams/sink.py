"""The ClickHouse sink: batch inserts that wait out an unavailable ClickHouse.

A batch goes in as columns, or as Avro records already encoded for Kafka (`write_avro`): the
events are encoded once for their topics anyway, and ClickHouse reads an Avro container in
C++, where building columns would cost a Python step per cell.

A write either succeeds or keeps retrying (exponential backoff with jitter, capped) until it
does or the worker is stopped: it never raises a transient failure to the caller, because the
caller commits Kafka offsets right after a write returns. `while_waiting` runs between attempts
so the consumer can stay in its group (paused) while ClickHouse is away.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from fastavro import writer

from schemas.contracts import ParsedSchema
from schemas.encoder import zigzag

from streams.metrics import INSERT_SECONDS, INSERT_WAITS, ROWS_WRITTEN

logger = logging.getLogger(__name__)

Columns = Mapping[str, Sequence[Any]]


class SinkStopped(RuntimeError):
    """The worker was stopped while a write was still waiting for ClickHouse."""


@dataclass
class ClickHouseSink:
    """Writes batches (columns, or Avro records) to ClickHouse tables, retrying until they are in."""

    connect: Callable[[], Client]
    stop_event: threading.Event = field(default_factory=threading.Event)
    initial_backoff: float = 0.2
    max_backoff: float = 10.0
    _client: Client | None = None

    def write(self, table: str, columns: Columns, while_waiting: Callable[[float], None] | None = None) -> int:
        """Insert `columns` (name -> values, all the same length) into `table`; return the row count."""
        names = list(columns)
        rows = len(columns[names[0]]) if names else 0
        values = [columns[name] for name in names]
        return self._insert(table, rows, lambda client: client.insert(table, values, column_names=names,
                                                                      column_oriented=True), while_waiting)

    def write_avro(self, table: str, container: AvroContainer, bodies: Sequence[bytes],
                   while_waiting: Callable[[float], None] | None = None) -> int:
        """Insert Avro-encoded records (schemaless bodies of `container`'s schema) into `table`; the row count."""
        payload = container.of(bodies)
        return self._insert(table, len(bodies), lambda client: client.raw_insert(
            table, container.names, insert_block=payload, fmt="Avro"), while_waiting)

    def _insert(self, table: str, rows: int, insert: Callable[[Client], Any],
                while_waiting: Callable[[float], None] | None) -> int:
        if rows == 0:
            return 0
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                insert(self._client_or_connect())
            except (OperationalError, DatabaseError, OSError) as error:
                if _is_permanent(error):
                    raise
                attempt += 1
                self._wait(table, attempt, error, while_waiting)
                continue
            INSERT_SECONDS.labels(table).observe(time.perf_counter() - started)
            ROWS_WRITTEN.labels(table).inc(rows)
            return rows

    def _wait(self, table: str, attempt: int, error: Exception, while_waiting: Callable[[float], None] | None) -> None:
        INSERT_WAITS.labels(table).inc()
        self._client = None
        delay = random.uniform(0, min(self.max_backoff, self.initial_backoff * 2 ** min(attempt, 16)))
        logger.warning("insert into %s failed (attempt %d: %s); ClickHouse unavailable? retrying in %.1fs",
                       table, attempt, str(error).splitlines()[0][:200], delay)
        if while_waiting is not None:
            while_waiting(delay)
        else:
            self.stop_event.wait(delay)
        if self.stop_event.is_set():
            raise SinkStopped(f"stopped while waiting to write {table}")

    def _client_or_connect(self) -> Client:
        if self._client is None:
            self._client = self.connect()
        return self._client


class AvroContainer:
    """Avro object container files of one schema, as ClickHouse's `FORMAT Avro` reads them.

    The header (schema and sync marker) is written once by fastavro; a batch is one block of the
    records' schemaless bodies, the bytes produced to Kafka without their framing prefix.
    """

    def __init__(self, schema: ParsedSchema) -> None:
        head = BytesIO()
        writer(head, schema, [], codec="null")
        self._header = head.getvalue()
        self._sync = self._header[-16:]
        self.names = [item["name"] for item in schema["fields"]]
        """The record's fields: the columns an insert names."""

    def of(self, bodies: Sequence[bytes]) -> bytes:
        """A container file holding `bodies` in one block."""
        return b"".join((self._header, zigzag(len(bodies)), zigzag(sum(map(len, bodies))), *bodies,
                         self._sync))


# Server-side errors that pass: too many queries/parts, memory, timeouts, network, read-only replica.
_TRANSIENT_CODES = {159, 202, 209, 210, 241, 242, 252}
_CODE = re.compile(r"Code: (\d+)")


def _is_permanent(error: Exception) -> bool:
    # A rejected statement (unknown column, type mismatch) fails the same way forever: surface it
    # and stop, rather than retry silently. Connection failures and overload are transient.
    if isinstance(error, DatabaseError) and not isinstance(error, OperationalError):
        code = _CODE.search(str(error))
        return code is not None and int(code.group(1)) not in _TRANSIENT_CODES
    return False
