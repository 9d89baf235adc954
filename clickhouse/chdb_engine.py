"""The chDB engine behind the embedded endpoint: its connections, sessions and errors.

chDB runs one engine per process and data directory. Every connection to it keeps its own
current database, settings and temporary tables, and connections run queries in parallel (one
connection runs one query at a time). So requests without a session borrow a pooled connection,
reset to their own database and settings, and each named session owns a connection for its
lifetime: no database or setting of one client leaks into another.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chdb.session import Session

logger = logging.getLogger(__name__)

DEFAULT_SESSION_TIMEOUT = 60.0
MAX_SESSION_TIMEOUT = 3600.0

_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENGINE_ERROR = re.compile(
    r"Code: (?P<code>\d+)\. DB::Exception: (?P<message>.*?)"
    r"(?: \((?P<name>[A-Z][A-Z0-9_]*)\))?(?: \(version [^)]*\))?\s*$",
    re.DOTALL,
)

# ClickHouse's exceptionCodeToHTTPStatus, keyed by error name (chDB's messages end with it).
_STATUS_BY_ERROR = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE",
                     "ACCESS_DENIED"), 403),
    **dict.fromkeys((
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
        "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
        "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
        "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
        "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"), 400),
    **dict.fromkeys((
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
        "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
        "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"), 404),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    **dict.fromkeys(("SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"), 503),
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}


class ClickHouseError(Exception):
    """A failure answered the way ClickHouse answers it: code, name, message and HTTP status."""

    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message

    @classmethod
    def from_engine(cls, error: Exception) -> ClickHouseError:
        """The ClickHouse exception inside a chDB error (chDB may prefix words of its own)."""
        text = str(error)
        start = text.find("Code: ")
        match = _ENGINE_ERROR.match(text, start) if start >= 0 else None
        if match is None:
            return cls(1001, "STD_EXCEPTION", text)
        return cls(int(match["code"]), match["name"] or "UNKNOWN_EXCEPTION", match["message"])

    @property
    def status(self) -> int:
        """The HTTP status ClickHouse answers this error with."""
        return _STATUS_BY_ERROR.get(self.name, 500)

    def text(self, version: str) -> str:
        """The error as ClickHouse prints it."""
        return f"Code: {self.code}. DB::Exception: {self.message} ({self.name}) (version {version})"


@dataclass(eq=False)
class Connection:
    """A chDB connection and the database and settings the endpoint last gave it."""

    session: Session
    database: str = "default"
    settings: dict[str, str] = field(default_factory=dict)
    spoiled: bool = False
    """Set when a statement left state behind: a pooled connection is then closed, not reused."""
    busy: threading.Lock = field(default_factory=threading.Lock)
    expires: float = 0.0

    def prepare(self, database: str | None, settings: Mapping[str, str]) -> None:
        """Give the connection a request's database and settings; only what differs is sent.

        Settings the endpoint set for an earlier request and this one lacks go back to their
        defaults. (In a named session this also resets a `SET` of the same name: rare, harmless.)
        """
        for name, value in settings.items():
            if self.settings.get(name) != value:
                if not _SETTING_NAME.fullmatch(name):
                    raise ClickHouseError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'.")
                self.run(f"SET {name} = {_quote(value)}")
                self.settings[name] = value
        for name in [name for name in self.settings if name not in settings]:
            self.run(f"SET {name} = DEFAULT")
            del self.settings[name]
        if database is not None and database != self.database:
            self.run(f"USE {_quote_identifier(database)}")
            self.database = database

    def run(self, sql: str) -> Any:
        """Run a statement of the endpoint's own; its result as chDB returns it."""
        try:
            return self.session.query(sql, "TabSeparated")
        except RuntimeError as error:
            raise ClickHouseError.from_engine(error) from None

    def close(self) -> None:
        try:
            self.session.close()
        except RuntimeError:
            logger.warning("closing a chDB connection failed", exc_info=True)


class Engine:
    """The chDB engine of one data directory, shared by all requests of the endpoint."""

    def __init__(self, data_dir: Path, max_idle: int = 8) -> None:
        # chDB reads TZ once, when the engine starts: pin UTC so that timezone() and DateTime
        # defaults do not depend on the machine.
        os.environ["TZ"] = "UTC"
        time.tzset()
        # Imported here: chDB takes half a second to import, and the CLI imports the endpoint
        # module for `endpoint_service` without running an engine.
        from chdb.session import Session

        self._session_factory = Session
        self.data_dir = data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Holds the engine open while pooled connections come and go.
        try:
            self._anchor = self._open()
        except ClickHouseError as error:
            raise ClickHouseError(error.code, error.name, f"Cannot open the data directory {self.data_dir}: "
                                  f"{error.message} (chDB allows one process per data directory).") from None
        self.version, self.timezone = self._anchor.run("SELECT version(), timezone()").bytes().decode().split()
        self._max_idle = max_idle
        self._idle: list[Connection] = []
        self._sessions: dict[str, Connection] = {}
        self._lock = threading.Lock()
        self._next_expiry = 0.0

    def _open(self) -> Connection:
        try:
            return Connection(self._session_factory(str(self.data_dir)))
        except RuntimeError as error:
            raise ClickHouseError.from_engine(error) from None

    @contextmanager
    def connection(self, session_id: str = "", timeout: float = DEFAULT_SESSION_TIMEOUT,
                   check: bool = False, close: bool = False) -> Iterator[Connection]:
        """A connection for one request: a pooled one without `session_id`, else the session's.

        As ClickHouse: `check` refuses an unknown session (SESSION_NOT_FOUND), a session serves
        one request at a time (SESSION_IS_LOCKED), and it ends `timeout` seconds after its last
        request or at once with `close`.
        """
        with self._lock:
            self._expire_sessions()
        if not session_id:
            with self._pooled() as connection:
                yield connection
            return
        connection = self._session(session_id, check)
        try:
            yield connection
        finally:
            connection.expires = time.monotonic() + timeout
            connection.busy.release()
            if close:
                self._end_session(session_id)

    @contextmanager
    def _pooled(self) -> Iterator[Connection]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        connection = connection or self._open()
        try:
            yield connection
        finally:
            with self._lock:
                keep = not connection.spoiled and len(self._idle) < self._max_idle
                if keep:
                    self._idle.append(connection)
            if not keep:
                connection.close()

    def _session(self, session_id: str, check: bool) -> Connection:
        with self._lock:
            connection = self._sessions.get(session_id)
            if connection is None:
                if check:
                    raise ClickHouseError(372, "SESSION_NOT_FOUND", f"Session {session_id} not found.")
                connection = self._sessions[session_id] = self._open()
        if not connection.busy.acquire(blocking=False):
            raise ClickHouseError(373, "SESSION_IS_LOCKED", f"Session {session_id} is locked by a concurrent client.")
        return connection

    def _end_session(self, session_id: str) -> None:
        with self._lock:
            connection = self._sessions.get(session_id)
            if connection is None or not connection.busy.acquire(blocking=False):
                return
            del self._sessions[session_id]
        connection.close()

    def _expire_sessions(self) -> None:
        now = time.monotonic()
        if now < self._next_expiry:
            return
        self._next_expiry = now + 1.0
        for session_id, connection in list(self._sessions.items()):
            if connection.expires < now and connection.busy.acquire(blocking=False):
                del self._sessions[session_id]
                connection.close()

    def close(self) -> None:
        """Close every connection, the engine last; call once no request is running."""
        with self._lock:
            connections = [*self._idle, *self._sessions.values()]
            self._idle.clear()
            self._sessions.clear()
        for connection in connections:
            connection.close()
        self._anchor.close()


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"
