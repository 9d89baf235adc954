"""SQL files that carry their metadata: a leading `/* <tag> ... */` block holding TOML.

Models (`/* model`) and data tests (`/* check`) keep what describes them in the same file as
their query, so one file is one thing, and packaging needs no other file type.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

_HEADER = re.compile(r"\A\s*/\*[ \t]*(?P<tag>\w+)[ \t]*\n(?P<toml>.*?)\*/\s*(?P<sql>.*)\Z", re.DOTALL)


class SqlFileError(ValueError):
    """A SQL file's header is missing or invalid; the message names the file."""


def read_sql_file(path: Path, tag: str) -> tuple[dict[str, Any], str]:
    """The header's fields and the SQL after it; the header must open with `/* <tag>`."""
    match = _HEADER.match(path.read_text())
    if match is None or match["tag"] != tag:
        raise SqlFileError(f"{path}: expected the file to start with a `/* {tag}` block (TOML) closed by `*/`")
    try:
        fields = tomllib.loads(match["toml"])
    except tomllib.TOMLDecodeError as error:
        raise SqlFileError(f"{path}: the `{tag}` block is not valid TOML: {error}") from None
    sql = match["sql"].strip().rstrip(";").strip()
    if not sql:
        raise SqlFileError(f"{path}: no SQL after the `{tag}` block")
    return fields, sql
