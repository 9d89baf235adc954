"""Vendor JSON row -> contract record, driven by the topic's current Avro schema.

Nested vendor objects map onto flattened fields by joining keys with `_`
(`cache_creation.ephemeral_1h_input_tokens` -> `cache_creation_ephemeral_1h_input_tokens`),
except where the schema keeps the structure (maps, arrays, records). Values are checked
against the field's type, so a mistyped vendor response fails here, before anything is
published; `raw_json` keeps the whole row so fields the schema does not know are not lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from schemas.contracts import contract

RAW_FIELD = "raw_json"


class ConformError(ValueError):
    """A vendor value does not fit its contract field."""


def conform(topic: str, row: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The contract record for `row` (plus `extra` fields, e.g. a bucket's bounds)."""
    fields = _fields(topic)
    flat = {**_flatten(row, fields), **extra}
    defaults = _defaults(topic)
    record = {name: _value(avro_type, flat.get(name, defaults.get(name)), f"{topic}.{name}")
              for name, avro_type in fields.items() if name != RAW_FIELD}
    if RAW_FIELD in fields:
        # Extras add to the raw row but never replace what the vendor sent (Stripe's epoch seconds).
        added = {name: value for name, value in extra.items() if name not in row}
        record[RAW_FIELD] = json.dumps({**row, **_jsonable(added)}, separators=(",", ":"), default=str)
    return record


@cache
def _fields(topic: str) -> dict[str, Any]:
    return {field["name"]: field["type"] for field in contract(topic).definition["fields"]}


@cache
def _defaults(topic: str) -> dict[str, Any]:
    # A field the vendor left out takes the contract's default (newer fields are optional).
    return {field["name"]: field["default"] for field in contract(topic).definition["fields"] if "default" in field}


def _flatten(row: Mapping[str, Any], fields: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}".replace(".", "_")
        if isinstance(value, Mapping) and name not in fields:
            flat.update(_flatten(value, fields, f"{name}_"))
        else:
            flat[name] = value
    return flat


def _value(avro_type: Any, value: Any, where: str) -> Any:
    if isinstance(avro_type, list):
        if value is None:
            if "null" in avro_type:
                return None
            raise ConformError(f"{where}: missing")
        return _value(next(t for t in avro_type if t != "null"), value, where)
    if isinstance(avro_type, dict):
        return _complex(avro_type, value, where)
    if value is None:
        raise ConformError(f"{where}: missing")
    return _primitive(avro_type, value, where)


def _complex(avro_type: dict[str, Any], value: Any, where: str) -> Any:
    kind = avro_type["type"]
    logical = avro_type.get("logicalType")
    if logical == "timestamp-millis":
        return _timestamp(value, where)
    if logical == "date":
        return _date(value, where)
    if kind == "map":
        _expect(value, Mapping, where)
        return {key: _value(avro_type["values"], item, f"{where}[{key}]") for key, item in value.items()}
    if kind == "array":
        _expect(value, list, where)
        return [_value(avro_type["items"], item, f"{where}[]") for item in value]
    if kind == "record":
        _expect(value, Mapping, where)
        flat = _flatten(value, {f["name"]: f["type"] for f in avro_type["fields"]})
        return {f["name"]: _value(f["type"], flat.get(f["name"], f.get("default")), f"{where}.{f['name']}")
                for f in avro_type["fields"]}
    return _value(kind, value, where)


def _primitive(avro_type: str, value: Any, where: str) -> Any:
    if avro_type == "string":
        _expect(value, str, where)
    elif avro_type in {"long", "int"}:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConformError(f"{where}: expected an integer, got {type(value).__name__} {value!r:.40}")
    elif avro_type in {"double", "float"}:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConformError(f"{where}: expected a number, got {type(value).__name__} {value!r:.40}")
        return float(value)
    elif avro_type == "boolean":
        _expect(value, bool, where)
    return value


def _timestamp(value: Any, where: str) -> datetime:
    # Vendors send RFC 3339 text (Anthropic), epoch milliseconds as a number or as text (Cursor).
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and not value.isdigit():
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConformError(f"{where}: expected an RFC 3339 time, got {value!r:.40}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | str) and not isinstance(value, bool):
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    raise ConformError(f"{where}: expected a time, got {type(value).__name__}")


def _date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and not value.isdigit():
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise ConformError(f"{where}: expected YYYY-MM-DD, got {value!r:.40}") from None
    return _timestamp(value, where).date()


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> None:
    if not isinstance(value, kind):
        raise ConformError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__} "
                           f"{value!r:.40}")


def _jsonable(extra: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in extra.items()}
