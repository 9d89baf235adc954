"""The little templating model SQL gets: `{{ name }}` values, and relation names swapped for staged ones.

No Jinja: a model's SQL is plain ClickHouse SQL with a few named holes the runner fills
(`{{ landed_filter }}`, `{{ partition_filter }}`, `{{ default_billing_currency }}`). Relation
names are found and replaced on the lexer's word tokens, so names inside strings and comments
are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime

from clickhouse_connect.driver.binding import format_query_value

from clickhouse.sql_text import tokens

_HOLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")
ALL_ROWS = "1"
"""A condition every row meets."""


class TemplateError(KeyError):
    """A `{{ name }}` has no value."""


def render(sql: str, values: Mapping[str, str]) -> str:
    """`sql` with every `{{ name }}` replaced by `values[name]` (already SQL text)."""

    def fill(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            raise TemplateError(f"{{{{ {name} }}}} has no value; known: {', '.join(sorted(values))}")
        return values[name]

    return _HOLE.sub(fill, sql)


def holes(sql: str) -> set[str]:
    """The names of the `{{ name }}` holes in `sql`."""
    return set(_HOLE.findall(sql))


def words(sql: str) -> set[str]:
    """The bare words of `sql` (identifiers and keywords), outside strings and comments."""
    return {token.text for token in tokens(sql) if token.word}


def rename_relations(sql: str, names: Mapping[str, str]) -> str:
    """`sql` with each bare word that is a key of `names` replaced by its value."""
    if not names:
        return sql
    parts: list[str] = []
    position = 0
    for token in tokens(sql):
        if token.word and token.text in names:
            parts += [sql[position:token.start], names[token.text]]
            position = token.end
    return "".join(parts) + sql[position:]


def literal(value: date | datetime | int | str) -> str:
    """A SQL literal; instants are UTC with milliseconds (a watermark must not lose them)."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value
        return f"toDateTime64('{utc:%Y-%m-%d %H:%M:%S}.{utc.microsecond // 1000:03d}', 3, 'UTC')"
    return str(format_query_value(value))


def in_list(expression: str, values: Iterable[date | datetime | int | str]) -> str:
    """`expression IN (...)`, or a false condition for no values."""
    rendered = [literal(value) for value in values]
    return f"({expression}) IN ({', '.join(rendered)})" if rendered else "0"
