"""Just enough lexing of ClickHouse SQL for the embedded endpoint.

The endpoint never parses SQL (chDB does); it needs to know where an `INSERT ... FORMAT <fmt>`
statement ends and its inline data begins, and a few facts about a query: its first keywords,
its FORMAT clause, whether it holds more than one statement. Strings, quoted identifiers and
comments are skipped so that words inside them are not taken for keywords.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal, NamedTuple

MORE: Final = "more"
"""`split_insert` needs more of the request to decide."""

READ_KEYWORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"})
"""Statements that read and answer with a result (in the requested output format)."""

_CONNECTION_KEYWORDS = frozenset({"USE", "SET", "BEGIN", "COMMIT", "ROLLBACK"})

_TOKEN = re.compile(
    r"(?P<skip>[ \t\n\r\f\v]+|--[^\n]*|/\*.*?(?:\*/|\Z))"
    r"|(?P<word>[A-Za-z0-9_$\x80-\U0010ffff]+)"
    r"|'(?:[^'\\]|\\.|'')*(?:'|\Z)|\"(?:[^\"\\]|\\.|\"\")*(?:\"|\Z)|`(?:[^`\\]|\\.|``)*(?:`|\Z)"
    r"|.",
    re.DOTALL,
)


class Token(NamedTuple):
    """A word, a quoted string or identifier, or one punctuation character, at a bracket depth."""

    text: str
    start: int
    end: int
    depth: int
    word: bool

    def keyword(self) -> str:
        """The upper-cased word when this is a bare word outside brackets, else ""."""
        return self.text.upper() if self.word and self.depth == 0 else ""


def tokens(sql: str) -> Iterator[Token]:
    """The tokens of `sql`, lazily: lexing stops where the caller stops reading."""
    depth = 0
    for match in _TOKEN.finditer(sql):
        if match.lastgroup == "skip":
            continue
        text = match.group()
        if text in ")]":
            depth = max(0, depth - 1)
        yield Token(text, match.start(), match.end(), depth, match.lastgroup == "word")
        if text in "([":
            depth += 1


@dataclass(frozen=True)
class InsertSplit:
    """Where an `INSERT ... FORMAT <fmt>` statement ends and its inline data begins."""

    statement_end: int
    data_start: int
    format: str


def split_insert(head: str, complete: bool) -> InsertSplit | Literal["more"] | None:
    """Split an INSERT with inline data from its data; None when `head` is not one.

    `head` is the start of a request (bytes decoded as latin-1, so offsets are byte offsets),
    `complete` tells whether it is the whole request; `MORE` asks for more of it. Lexing stops
    at the format name, before the data.
    """
    stream = tokens(head)
    first = next(stream, None)
    if first is None:
        return None if complete else MORE
    if first.keyword() != "INSERT":
        return None
    before, previous = first, first
    for token in stream:
        keyword = token.keyword()
        if keyword in ("VALUES", "SELECT", "WITH"):
            return None
        # `INSERT INTO format FORMAT ...`: a table may be called format.
        if previous.keyword() == "FORMAT" and before.keyword() not in ("INTO", "TABLE") and keyword:
            if token.end == len(head) and not complete:
                return MORE
            return InsertSplit(previous.start, _data_start(head, token.end), token.text)
        before, previous = previous, token
    return None if complete else MORE


def _data_start(head: str, position: int) -> int:
    # As ClickHouse's ParserInsertQuery: data starts after the first newline, if there is one,
    # or after the blanks otherwise.
    while position < len(head) and head[position] in " \t\f":
        position += 1
    if head.startswith("\r", position):
        position += 1
    if head.startswith("\n", position):
        position += 1
    return position


@dataclass(frozen=True)
class Statement:
    """What the endpoint needs to know about a query before it runs it."""

    keyword: str
    """The first keyword, upper-cased ("" for an empty query)."""
    second: str
    format: str | None
    """The output format its FORMAT clause names, if it has one."""
    multiple: bool
    """True for more than one statement (`SELECT 1; SELECT 2`)."""

    @property
    def has_result(self) -> bool:
        return self.keyword in READ_KEYWORDS

    @property
    def changes_connection(self) -> bool:
        """True when it leaves state on its connection: database, settings, temporary tables."""
        return self.keyword in _CONNECTION_KEYWORDS or (
            self.keyword in ("CREATE", "ATTACH") and self.second == "TEMPORARY"
        )

    def allowed_in(self, readonly: int) -> bool:
        """ClickHouse's `readonly`: 1 allows reads only, 2 also allows changing settings."""
        return (
            readonly == 0 or self.keyword in READ_KEYWORDS or self.keyword == "USE"
            or (readonly == 2 and self.keyword == "SET")
        )


def statement(sql: str) -> Statement:
    """The `Statement` facts of a query."""
    keywords: list[str] = []
    output_format: str | None = None
    after_format = ""  # "named": just after FORMAT <name>; "settings": in a SETTINGS clause after it
    previous: Token | None = None
    ended = multiple = False
    for token in tokens(sql):
        if ended:
            multiple = True
            break
        if token.depth == 0 and token.text == ";":
            ended = True
            continue
        if token.word and len(keywords) < 2:
            keywords.append(token.text.upper())
        keyword = token.keyword()
        if previous is not None and previous.keyword() == "FORMAT" and keyword:
            output_format, after_format = token.text, "named"
        elif after_format == "named":
            # `SELECT format FROM t` names a column, not an output format.
            after_format = "settings" if keyword == "SETTINGS" else ""
            output_format = output_format if after_format else None
        previous = token
    keywords += ["", ""]
    return Statement(keywords[0], keywords[1], output_format, multiple)
