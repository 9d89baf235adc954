"""The embedded ClickHouse endpoint: the ClickHouse HTTP interface on loopback, in front of chDB.

One process owns the chDB data directory (chDB locks it); every other process reaches it over
HTTP with `clickhouse-connect`, as it would reach a ClickHouse server. Run it in the foreground
with `python -m clickhouse.endpoint --data-dir DIR --port 8123`, or in the background with
`endpoint_service(...).start()`.

Of the HTTP interface it serves: queries in the body and/or the `query` parameter (GET is
read-only), inserts with inline data (`INSERT ... FORMAT <fmt>` then the data, streamed into
chDB), results in any output format, `param_<name>` query parameters, `database`, named sessions
(`session_id`, `session_timeout`, `session_check`, `close_session`), every other parameter as a
setting, compressed request bodies (lz4, zstd, gzip, deflate), ClickHouse's error text, code and
status, user/password checks, `/ping` and `/replicas_status`. Results are sent whole, once the
query has finished (what clickhouse-connect asks for with `wait_end_of_query=1`).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import http.client
import io
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import lz4.frame
import zstandard

from clickhouse.chdb_engine import DEFAULT_SESSION_TIMEOUT, MAX_SESSION_TIMEOUT, ClickHouseError, Connection, Engine
from clickhouse.sql_text import MORE, InsertSplit, split_insert, statement
from usagemart.processes import BackgroundService, ServiceError, port_is_open

logger = logging.getLogger(__name__)

PASSWORD_ENV = "USAGEMART_CLICKHOUSE_PASSWORD"
"""Environment variable that `endpoint_service` passes the password in (never on the command line)."""

KEEP_ALIVE_SECONDS = 30
_READ_SIZE = 1 << 20
_MAX_INSERT_HEAD = 1 << 20
_IDLE_POLL_SECONDS = 0.5

# Parameters the HTTP interface reads itself; every other parameter is a setting, applied with SET.
# That includes the HTTP-only settings clickhouse-connect sends (enable_http_compression,
# send_progress_in_http_headers, http_headers_progress_interval_ms,
# cancel_http_readonly_queries_on_client_close): the engine accepts them and they change nothing
# here, which is safe because answers are complete (as with wait_end_of_query=1), carry the full
# headers and are sent uncompressed, which every client accepts.
_TRANSPORT_PARAMS = frozenset({
    "query", "database", "default_format", "user", "password", "quota_key", "query_id", "role",
    "session_id", "session_timeout", "session_check", "close_session", "compress", "decompress",
    "buffer_size", "wait_end_of_query", "client_protocol_version", "stacktrace", "readonly",
})
# chDB's Python layer turns these "formats" into Python objects; they are not ClickHouse formats.
_PYTHON_ONLY_FORMATS = frozenset({"dataframe", "datastore", "arrowtable", "debug"})
_BINARY_FORMATS = frozenset({
    "native", "rowbinary", "rowbinarywithnames", "rowbinarywithnamesandtypes", "rowbinarywithdefaults",
    "parquet", "arrow", "arrowstream", "orc", "avro", "protobuf", "protobufsingle", "capnproto",
    "msgpack", "bsoneachrow", "npy",
})


class _FrameDecoder:
    """Streaming decompression of a body that may hold several concatenated frames.

    clickhouse-connect compresses every insert block as its own lz4 (or zstd) frame.
    """

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._current = factory()

    def feed(self, data: bytes) -> bytes:
        pieces = []
        while data:
            pieces.append(self._current.decompress(data))
            if not self._current.eof:
                break
            data = self._current.unused_data
            self._current = self._factory()
        return b"".join(pieces)


_DECODERS: dict[str, Callable[[], Any]] = {
    "lz4": lz4.frame.LZ4FrameDecompressor,
    "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": zlib.decompressobj,
}


class _Body:
    """A request body: framed by Content-Length or chunked, then decoded by Content-Encoding."""

    def __init__(self, stream: io.BufferedIOBase, headers: Message) -> None:
        self._stream = stream
        self._chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        try:
            self._remaining = 0 if self._chunked else int(headers.get("Content-Length") or 0)
        except ValueError:
            raise ClickHouseError(36, "BAD_ARGUMENTS", "Invalid Content-Length.") from None
        self._done = not self._chunked and self._remaining == 0
        self.broken = False
        """True when the framing is unreadable, so the connection cannot be reused."""
        encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in _DECODERS and encoding != "identity":
            raise ClickHouseError(36, "BAD_ARGUMENTS", f"Unsupported request Content-Encoding '{encoding}' "
                                  f"(supported: identity, {', '.join(_DECODERS)}).")
        self._decoder = _FrameDecoder(_DECODERS[encoding]) if encoding in _DECODERS else None

    def chunks(self) -> Iterator[bytes]:
        """The decoded body, piece by piece."""
        while (piece := self._read()) is not None:
            if self._decoder is not None:
                try:
                    piece = self._decoder.feed(piece)
                except (RuntimeError, ValueError, zlib.error, zstandard.ZstdError) as error:
                    raise ClickHouseError(271, "CANNOT_DECOMPRESS", f"Cannot decompress the request body: {error}.") \
                        from error
            if piece:
                yield piece

    def drain(self) -> None:
        """Read and drop what is left, so the connection can serve the next request."""
        try:
            while self._read() is not None:
                pass
        except ClickHouseError:
            self.broken = True

    def _read(self) -> bytes | None:
        if self._done:
            return None
        try:
            if self._chunked and self._remaining == 0 and not self._next_chunk():
                return None
            piece = self._stream.read(min(self._remaining, _READ_SIZE))
        except (OSError, ValueError) as error:
            self.broken = True
            raise ClickHouseError(33, "CANNOT_READ_ALL_DATA", f"Cannot read the request body: {error}.") from error
        if not piece:
            self.broken = True
            raise ClickHouseError(33, "CANNOT_READ_ALL_DATA", "The request body ended before its declared size.")
        self._remaining -= len(piece)
        if self._remaining == 0:
            if self._chunked:
                self._stream.readline(65537)
            else:
                self._done = True
        return piece

    def _next_chunk(self) -> bool:
        size = int(self._stream.readline(65537).split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            while self._stream.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True
            return False
        self._remaining = size
        return True


def _form_fields(content_type: str, data: bytes) -> dict[str, str]:
    """The fields of a multipart/form-data body (clickhouse-connect sends long parameters so)."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None:
            raise ClickHouseError(48, "NOT_IMPLEMENTED", "External data (file fields) is not supported by the "
                                  "embedded ClickHouse endpoint.")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode()
    return fields


@dataclass
class _Request:
    """A query request, as the HTTP interface reads it from the URL, the headers and the body."""

    database: str | None
    default_format: str
    readonly: int
    settings: dict[str, str]
    query_params: dict[str, str]
    session_id: str
    session_timeout: float
    session_check: bool
    close_session: bool

    @classmethod
    def read(cls, params: dict[str, str], headers: Message, method: str) -> _Request:
        if params.get("compress", "0") not in ("", "0") or params.get("decompress", "0") not in ("", "0"):
            raise ClickHouseError(48, "NOT_IMPLEMENTED", "ClickHouse native compression (compress=1, decompress=1) "
                                  "is not supported by the embedded ClickHouse endpoint; use HTTP compression "
                                  "(Content-Encoding / Accept-Encoding).")
        readonly = _integer(params, "readonly", 0)
        return cls(
            database=params.get("database") or headers.get("X-ClickHouse-Database") or None,
            default_format=params.get("default_format") or headers.get("X-ClickHouse-Format") or "TabSeparated",
            # ClickHouse runs GET requests with readonly=2 unless told stricter.
            readonly=readonly or (2 if method == "GET" else 0),
            settings={k: v for k, v in params.items() if k not in _TRANSPORT_PARAMS and not k.startswith("param_")},
            query_params={k[6:]: v for k, v in params.items() if k.startswith("param_")},
            session_id=params.get("session_id", ""),
            session_timeout=_session_timeout(params),
            session_check=params.get("session_check") == "1",
            close_session=params.get("close_session") == "1",
        )

    def connection_database(self) -> str | None:
        """The database to run in: requests without a session and without one use `default`."""
        return self.database or (None if self.session_id else "default")


def _integer(params: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(params.get(name) or default)
    except ValueError:
        raise ClickHouseError(36, "BAD_ARGUMENTS", f"Parameter {name} must be an integer.") from None


def _session_timeout(params: Mapping[str, str]) -> float:
    try:
        timeout = float(params.get("session_timeout") or DEFAULT_SESSION_TIMEOUT)
    except ValueError:
        raise ClickHouseError(36, "BAD_ARGUMENTS", "Parameter session_timeout must be a number.") from None
    if not 0 <= timeout <= MAX_SESSION_TIMEOUT:
        raise ClickHouseError(374, "INVALID_SESSION_TIMEOUT", f"Session timeout {timeout:g} is out of the range "
                              f"0..{MAX_SESSION_TIMEOUT:g} (max_session_timeout).")
    return timeout


@dataclass
class _Outcome:
    """A successful query: the result bytes (owned by `owner`), its format and its summary."""

    body: memoryview | bytes
    format: str | None
    summary: dict[str, str]
    owner: object = None


def _check_format(name: str) -> None:
    if name.lower() in _PYTHON_ONLY_FORMATS:
        raise ClickHouseError(73, "UNKNOWN_FORMAT", f"Unknown format {name}.")


def _execute(engine: Engine, request: _Request, prefix: bytes, chunks: Iterator[bytes]) -> _Outcome:
    """Run one request: the SQL is `prefix` (the `query` parameter) followed by the body."""
    head = bytearray(prefix)
    complete = False
    # An INSERT statement longer than _MAX_INSERT_HEAD is not split from its data (chDB then parses it whole).
    while (split := split_insert(head[:_MAX_INSERT_HEAD].decode("latin-1"),
                                 complete or len(head) > _MAX_INSERT_HEAD)) == MORE:
        chunk = next(chunks, None)
        complete = chunk is None
        head += chunk or b""
    if isinstance(split, InsertSplit):
        insert = head[:split.statement_end].decode("utf-8", errors="replace").rstrip()
        return _insert(engine, request, insert, split.format, bytes(head[split.data_start:]), chunks)
    for chunk in chunks:
        head += chunk
    try:
        sql = head.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ClickHouseError(27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", f"The query is not valid UTF-8: {error}.") \
            from None
    return _query(engine, request, sql)


def _query(engine: Engine, request: _Request, sql: str) -> _Outcome:
    facts = statement(sql)
    if not facts.keyword:
        raise ClickHouseError(62, "SYNTAX_ERROR", "Empty query.")
    if facts.multiple:
        raise ClickHouseError(62, "SYNTAX_ERROR", "Multi-statements are not allowed.")
    if not facts.allowed_in(request.readonly):
        raise ClickHouseError(164, "READONLY", "Cannot execute query in readonly mode. For queries over HTTP, "
                              "method GET implies readonly. You should use method POST for modifying queries.")
    output_format = facts.format or request.default_format
    _check_format(output_format)
    _check_format(request.default_format)
    with engine.connection(request.session_id, request.session_timeout, request.session_check,
                           request.close_session) as connection:
        connection.prepare(request.connection_database(), request.settings)
        try:
            result = connection.session.query(sql, request.default_format, params=request.query_params or None)
        except RuntimeError as error:
            raise ClickHouseError.from_engine(error) from None
        finally:
            if facts.changes_connection:
                connection.spoiled = True
                if facts.keyword == "USE" and request.session_id:
                    connection.database = connection.run("SELECT currentDatabase()").bytes().decode().strip()
    summary = {
        "read_rows": str(result.storage_rows_read()), "read_bytes": str(result.storage_bytes_read()),
        "written_rows": str(result.rows_written()), "written_bytes": str(result.bytes_written()),
        "total_rows_to_read": str(result.storage_rows_read()),
        "result_rows": str(result.rows_read()), "result_bytes": str(result.bytes_read()),
        "elapsed_ns": str(int(result.elapsed() * 1e9)),
    }
    memory = result.get_memview()
    return _Outcome(memory.view(), output_format if facts.has_result else None, summary, (result, memory))


def _insert(engine: Engine, request: _Request, statement: str, data_format: str, first: bytes,
            rest: Iterator[bytes]) -> _Outcome:
    if request.readonly:
        raise ClickHouseError(164, "READONLY", "Cannot execute query in readonly mode.")
    _check_format(data_format)
    started = time.perf_counter()
    received = len(first)
    with engine.connection(request.session_id, request.session_timeout, request.session_check,
                           request.close_session) as connection:
        connection.prepare(request.connection_database(), request.settings)
        try:
            inserter = connection.session.send_insert(statement, data_format)
        except RuntimeError as error:
            raise ClickHouseError.from_engine(error) from None
        try:
            if first:
                inserter.append(first)
            for chunk in rest:
                inserter.append(chunk)
                received += len(chunk)
            result = inserter.finish()
        except BaseException as failure:
            _cancel(inserter, connection)
            if isinstance(failure, RuntimeError):
                raise ClickHouseError.from_engine(failure) from None
            raise
    summary = {
        "read_rows": str(result.rows_written), "read_bytes": str(received),
        "written_rows": str(result.rows_written), "written_bytes": str(result.bytes_written),
        "total_rows_to_read": "0", "result_rows": "0", "result_bytes": "0",
        "elapsed_ns": str(int((time.perf_counter() - started) * 1e9)),
    }
    return _Outcome(b"", None, summary)


def _cancel(inserter: Any, connection: Connection) -> None:
    try:
        inserter.cancel()
    except RuntimeError:
        # A connection whose insert would not cancel cannot be trusted with another request.
        connection.spoiled = True
        logger.warning("cancelling a streaming insert failed", exc_info=True)


@dataclass(frozen=True)
class Credentials:
    """The one user the endpoint accepts; with no password, any password is refused but the empty one."""

    user: str = "default"
    password: str = field(default="", repr=False)

    def check(self, headers: Message, params: Mapping[str, str]) -> None:
        user, password = _presented_credentials(headers, params)
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        if not (hmac.compare_digest(password.encode(), self.password.encode()) and user_ok):
            raise ClickHouseError(516, "AUTHENTICATION_FAILED", f"{user}: Authentication failed: password is "
                                  "incorrect, or there is no user with such name.")


def _presented_credentials(headers: Message, params: Mapping[str, str]) -> tuple[str, str]:
    if headers.get("X-ClickHouse-User") is not None:
        return headers["X-ClickHouse-User"], headers.get("X-ClickHouse-Key") or ""
    authorization = headers.get("Authorization") or ""
    if authorization[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseError(516, "AUTHENTICATION_FAILED", "Malformed Basic authorization header.") from None
        return user, password
    return params.get("user") or "default", params.get("password") or ""


class EndpointServer(ThreadingHTTPServer):
    """The HTTP server: one thread per client connection, all sharing one `Engine`."""

    daemon_threads = False  # server_close() then waits for in-flight requests
    block_on_close = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], engine: Engine, credentials: Credentials) -> None:
        self.engine = engine
        self.credentials = credentials
        self.display_name = socket.gethostname()
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, close idle keep-alive connections."""
        self.stopping.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: EndpointServer
    protocol_version = "HTTP/1.1"
    timeout = 300
    # Headers and body go out in two writes; with Nagle on, the second waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    def handle(self) -> None:
        # Keep-alive loop that notices shutdown while waiting for a client's next request.
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection and self._next_request_arrives():
            self.handle_one_request()

    def _next_request_arrives(self) -> bool:
        poller = select.poll()
        poller.register(self.connection, select.POLLIN)
        deadline = time.monotonic() + KEEP_ALIVE_SECONDS
        while not self.server.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if poller.poll(min(_IDLE_POLL_SECONDS, remaining) * 1000):
                return True
        return False

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        params = self._params()
        if path in ("/ping", "/replicas_status") or (path == "/" and "query" not in params):
            self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
        elif "query" in params:
            self._serve_query(params)
        else:
            self._send(404, f"There is no handle {path}\n\nUse / or /ping for health checks.\n".encode(),
                       {"Content-Type": "text/plain; charset=UTF-8"})

    def do_POST(self) -> None:
        self._serve_query(self._params())

    def _params(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def _serve_query(self, params: dict[str, str]) -> None:
        started = time.perf_counter()
        query_id = params.get("query_id") or str(uuid.uuid4())
        body: _Body | None = None
        try:
            body = _Body(self.rfile, self.headers)
            self.server.credentials.check(self.headers, params)
            chunks = body.chunks()
            if (self.headers.get("Content-Type") or "").startswith("multipart/form-data"):
                params = {**params, **_form_fields(self.headers["Content-Type"], b"".join(chunks))}
            request = _Request.read(params, self.headers, self.command)
            query = params.get("query", "")
            outcome = _execute(self.server.engine, request, f"{query}\n".encode() if query else b"", chunks)
        except ClickHouseError as error:
            if body is None or body.broken:
                self.close_connection = True
            else:
                body.drain()
                self.close_connection = self.close_connection or body.broken
            self._send_error(error, query_id)
            status, detail = error.status, error.name
        except Exception as unexpected:  # a bug here must not cost the client its answer
            logger.exception("request failed: query_id=%s", query_id)
            self.close_connection = True
            failure = ClickHouseError(1001, "STD_EXCEPTION", f"{type(unexpected).__name__}: {unexpected}")
            self._send_error(failure, query_id)
            status, detail = failure.status, failure.name
        else:
            self._send_outcome(outcome, request, query_id)
            status, detail = 200, outcome.summary.get("result_rows", "")
        logger.debug("%s %s %d %s query_id=%s %.1f ms", self.command, urlsplit(self.path).path, status, detail,
                     query_id, (time.perf_counter() - started) * 1000)

    def _send_outcome(self, outcome: _Outcome, request: _Request, query_id: str) -> None:
        headers = self._common_headers(query_id)
        headers["X-ClickHouse-Timezone"] = request.settings.get("session_timezone") or self.server.engine.timezone
        headers["X-ClickHouse-Summary"] = json.dumps(outcome.summary, separators=(",", ":"))
        if outcome.format is not None:
            headers["X-ClickHouse-Format"] = outcome.format
        headers["Content-Type"] = _content_type(outcome.format)
        self._send(200, outcome.body, headers)

    def _send_error(self, error: ClickHouseError, query_id: str) -> None:
        headers = self._common_headers(query_id)
        headers["X-ClickHouse-Exception-Code"] = str(error.code)
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        self._send(error.status, f"{error.text(self.server.engine.version)}\n".encode(), headers)

    def _common_headers(self, query_id: str) -> dict[str, str]:
        return {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Server-Display-Name": self.server.display_name}

    def _send(self, status: int, body: memoryview | bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(memoryview(body).nbytes))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            # Responses are sent uncompressed whatever Accept-Encoding says: on loopback,
            # compressing costs more CPU than it saves, and clients accept identity.
            self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE_SECONDS}")
        self.end_headers()
        self.wfile.write(body)

    def version_string(self) -> str:
        return "usagemart-clickhouse-endpoint"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are logged once, with their query id and timing, by `_serve_query`."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        logger.debug("%s: %s", self.address_string(), format % args)


def _content_type(output_format: str | None) -> str:
    name = (output_format or "").lower()
    if name in _BINARY_FORMATS:
        return "application/octet-stream"
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "names" in name else "absent")
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name == "xml":
        return "application/xml; charset=UTF-8"
    return "text/plain; charset=UTF-8"


def serve(data_dir: Path, host: str, port: int, credentials: Credentials) -> None:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and close the engine."""
    engine = Engine(data_dir)
    try:
        server = EndpointServer((host, port), engine, credentials)
    except OSError:
        engine.close()
        raise
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    accepting = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": _IDLE_POLL_SECONDS},
                                 name="endpoint-accept")
    accepting.start()
    logger.info("embedded ClickHouse %s (chDB) serving http://%s:%d, data in %s, user %s%s", engine.version, host,
                port, engine.data_dir, credentials.user, " with a password" if credentials.password else "")
    while not stop.wait(_IDLE_POLL_SECONDS):
        pass
    logger.info("stopping: finishing in-flight requests")
    server.stop()
    accepting.join()
    engine.close()
    logger.info("stopped")


def main(argv: list[str] | None = None) -> None:
    """`python -m clickhouse.endpoint`: run the endpoint in the foreground."""
    parser = argparse.ArgumentParser(prog="python -m clickhouse.endpoint",
                                     description="The embedded ClickHouse endpoint (chDB behind the HTTP interface).")
    parser.add_argument("--data-dir", type=Path, required=True, help="chDB data directory (created if missing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--user", default="default")
    parser.add_argument("--password-env", metavar="VARNAME",
                        help="environment variable holding the password (unset: no password)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    password = os.environ.get(args.password_env, "") if args.password_env else ""
    if args.password_env and not password:
        parser.error(f"--password-env {args.password_env}: the variable is unset or empty")
    try:
        serve(args.data_dir, args.host, args.port, Credentials(args.user, password))
    except (OSError, ClickHouseError) as error:
        logger.error("cannot start the embedded ClickHouse endpoint: %s", error)
        sys.exit(1)


@dataclass
class _EndpointService(BackgroundService):
    host: str = "127.0.0.1"
    port: int = 8123

    def start(self, timeout: float = 60.0) -> int:
        if self.pid() is None and port_is_open(self.host, self.port):
            raise ServiceError(
                f"cannot start the embedded ClickHouse endpoint: {self.host}:{self.port} is already in use by "
                "another process; stop it, or point CLICKHOUSE_URL at it if it is a ClickHouse server"
            )
        return super().start(timeout)


def endpoint_service(data_dir: Path, run_dir: Path, port: int, host: str = "127.0.0.1", *,
                     user: str = "default", password: str = "") -> BackgroundService:
    """The endpoint as a background service (pid and log files in `run_dir`), ready when /ping answers."""
    command = [sys.executable, "-m", "clickhouse.endpoint", "--data-dir", str(data_dir.resolve()),
               "--host", host, "--port", str(port), "--user", user]
    env = None
    if password:
        command += ["--password-env", PASSWORD_ENV]
        env = {PASSWORD_ENV: password}
    return _EndpointService(name="clickhouse", run_dir=run_dir, command=command,
                            ready=lambda: answers_ping(host, port), env=env, host=host, port=port)


def answers_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a ClickHouse HTTP interface on host:port answers GET /ping with `Ok.`."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/ping")
        response = connection.getresponse()
        return response.status == 200 and response.read() == b"Ok.\n"
    except OSError:
        return False
    finally:
        connection.close()


if __name__ == "__main__":
    main()
