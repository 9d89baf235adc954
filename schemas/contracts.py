"""The event contracts: one Avro schema per topic and version, loaded from `schemas/avro/`.

A contract is the folder `schemas/avro/<name>/` holding `v1.avsc`, `v2.avsc`, ...; its name is
the topic, except that every `dlq.<stage>` topic shares the `dlq` contract. The highest version
is current: producers write it, readers resolve older writers to it. The record's custom
attribute `natural_key` lists the fields whose values key the topic's Kafka records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema

AVRO_DIR = Path(__file__).with_name("avro")
DLQ_CONTRACT = "dlq"
KEY_SEPARATOR = "|"

ParsedSchema = dict[str, Any]
KeyPart = Callable[[Any], str]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UnknownContractError(LookupError):
    """No contract exists for a topic."""


@dataclass(frozen=True)
class Contract:
    """A topic's schemas: every version kept, parsed once, and the current one's natural key."""

    name: str
    """The folder under `schemas/avro/`: the topic, or `dlq` for every `dlq.<stage>`."""
    definitions: Mapping[int, Mapping[str, Any]]
    """The `.avsc` JSON per version number."""
    versions: Mapping[int, ParsedSchema]
    """Parsed schema per version number."""
    current: int
    """The version producers write and readers resolve to."""
    natural_key: tuple[str, ...]
    """The current version's key fields, in key order."""
    key_parts: tuple[tuple[str, KeyPart], ...]
    """Each key field with the function that writes its value into the key."""

    @property
    def schema(self) -> ParsedSchema:
        """The current version, parsed."""
        return self.versions[self.current]

    @property
    def definition(self) -> Mapping[str, Any]:
        """The current version's `.avsc` JSON, as registered with a schema registry."""
        return self.definitions[self.current]

    def key(self, record: Mapping[str, Any]) -> str:
        """The record's natural key, see `natural_key`."""
        parts = [_escape(text(record.get(name))) for name, text in self.key_parts]
        # Trailing nulls are dropped so that appending a nullable key field in a new version
        # (a newer group-by dimension) leaves the keys, and so event ids, of old rows unchanged.
        while parts and not parts[-1]:
            parts.pop()
        return KEY_SEPARATOR.join(parts)


def contract_name(topic: str) -> str:
    """The contract a topic's records follow."""
    return DLQ_CONTRACT if topic.startswith(f"{DLQ_CONTRACT}.") else topic


def contract_names() -> list[str]:
    """Every contract under `schemas/avro/`."""
    return sorted(path.name for path in AVRO_DIR.iterdir() if any(path.glob("v*.avsc")))


def contract(topic: str) -> Contract:
    """The contract of `topic`, loaded and parsed once per process."""
    return _load(contract_name(topic))


def natural_key(topic: str, record: Mapping[str, Any]) -> str:
    """A stable string key from the record's natural key fields, for the Kafka record key.

    Values are joined by `|` in the contract's key order: timestamps as UTC
    `YYYY-MM-DDTHH:MM:SS.mmmZ`, dates as `YYYY-MM-DD`, booleans as `true`/`false`, nulls as
    empty, `%` and `|` inside values percent-escaped; trailing empty values are dropped.
    Timestamps and dates may be given as datetimes/dates or as Avro's epoch ms/days.
    """
    return contract(topic).key(record)


@cache
def _load(name: str) -> Contract:
    folder = AVRO_DIR / name
    definitions = {int(path.stem[1:]): json.loads(path.read_text()) for path in folder.glob("v*.avsc")}
    if not definitions:
        raise UnknownContractError(f"no contract for topic {name!r}; known: {', '.join(contract_names())}")
    current = max(definitions)
    definition = definitions[current]
    key_fields = tuple(definition.get("natural_key", ()))
    fields = {field["name"]: field["type"] for field in definition["fields"]}
    missing = [field for field in key_fields if field not in fields]
    if not key_fields or missing:
        raise ValueError(f"{folder}/v{current}.avsc: natural_key must list fields of the record, got {key_fields}")
    return Contract(
        name=name,
        definitions=definitions,
        versions={version: parse_record(schema) for version, schema in sorted(definitions.items())},
        current=current,
        natural_key=key_fields,
        key_parts=tuple((field, _key_part(fields[field])) for field in key_fields),
    )


def parse_record(definition: Mapping[str, Any]) -> ParsedSchema:
    """A record schema parsed by fastavro, once, for its readers and writers."""
    return cast(ParsedSchema, parse_schema(dict(definition)))


def _key_part(avro_type: Any) -> KeyPart:
    """How a key field's value is written into the key, from its (possibly nullable) type."""
    if isinstance(avro_type, list):
        avro_type = next(branch for branch in avro_type if branch != "null")
    logical = avro_type.get("logicalType") if isinstance(avro_type, dict) else None
    if logical == "timestamp-millis":
        return _timestamp_text
    if logical == "date":
        return _date_text
    if avro_type == "boolean":
        return _boolean_text
    return _plain_text


def _timestamp_text(value: datetime | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        value = _EPOCH + timedelta(milliseconds=value)
    elif value.tzinfo is None:
        # Naive datetimes are UTC, as fastavro writes them.
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def _date_text(value: date | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        value = _EPOCH.date() + timedelta(days=value)
    return value.isoformat()


def _boolean_text(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _plain_text(value: Any) -> str:
    return "" if value is None else str(value)


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace(KEY_SEPARATOR, "%7C")
