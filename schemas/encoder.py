"""Avro binary encoding compiled per schema: fastavro's bytes, 1.6-3x faster (`bench/worker.py`).

Encoding the normalized events was the worker's largest cost per record, and fastavro's generic
writer walks the schema for every field of every record. `compile_encoder` walks it once and
builds one Python function per record type that joins the fields' bytes in a single
expression (see `Encoder.source`); repeated values come from a bounded memo per field. What a
value means is still fastavro's: logical types go through fastavro's own `LOGICAL_WRITERS`, with
fast paths for aware datetimes and `bytes` decimals that give the same numbers, so mostly the
binary layout is written here, and the tests hold every contract's output byte-equal to
`schemaless_writer`.

Strict like `schemaless_writer(..., strict_allow_default=True)`: a field the schema lacks, or a
missing field without a default, is an error. Schemas using anything else than records, arrays,
maps, the primitives and `["null", T]` unions raise `Unsupported`; `Serde` then keeps fastavro.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

from fastavro.write import LOGICAL_WRITERS

Encode = Callable[[Mapping[str, Any]], bytes]

_SMALL = tuple(bytes([n << 1]) for n in range(64))
"""Zigzag varints of 0..63, one byte each: lengths, counts, most token counts."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class Unsupported(ValueError):
    """The schema uses a type this compiler does not write (enum, fixed, a wider union)."""


def zigzag(value: int) -> bytes:
    """An Avro long/int: zigzag, then base-128 varint, low group first."""
    if 0 <= value < 64:
        return _SMALL[value]
    value = (value << 1) ^ (value >> 63)
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _text(value: str) -> bytes:
    data = value.encode()
    return zigzag(len(data)) + data


def _blob(value: bytes) -> bytes:
    return zigzag(len(value)) + value


def _epoch_millis(value: datetime) -> int:
    """An aware datetime as fastavro's `timestamp-millis` (whole milliseconds, truncated), computed
    without its two conversions per call."""
    return (value - _EPOCH) // _MILLISECOND


def _unscaled_bytes(value: Decimal, scale: int, exact: Context) -> bytes:
    """A decimal as fastavro's `bytes` decimal (two's complement of value x 10^scale, big-endian),
    without its digit-by-digit loop; out of the schema's precision or scale, fastavro's own error."""
    _, digits, exponent = value.as_tuple()
    if len(digits) > exact.prec or not isinstance(exponent, int) or exponent + scale < 0:
        return LOGICAL_WRITERS["bytes-decimal"](value, {"precision": exact.prec, "scale": scale})  # type: ignore[no-any-return]
    unscaled = int(value.scaleb(scale, exact))  # only the exponent moves: exact within the precision
    return unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)


def _boolean(value: bool) -> bytes:
    if value is True or value == 1:
        return b"\x01"
    if value is False or value == 0:
        return b"\x00"
    raise TypeError(f"not a boolean: {value!r:.40}")


def _blocks(count: int, body: bytes) -> bytes:
    """An array or map: one block of `count` items, then the empty block that ends it."""
    return zigzag(count) + body + b"\x00" if count else b"\x00"


class _Memo(dict[Any, bytes]):
    """Encoded bytes per value, computed on a miss: a hit costs a dict lookup, no Python call.

    Events repeat most values (platforms, models, days, key ids) across a batch. Bounded: it
    starts over when full, so a field of unique values costs a miss each, never memory.
    """

    __slots__ = ("_encode",)
    LIMIT = 16_384

    def __init__(self, encode: Callable[[Any], bytes]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, value: Any) -> bytes:
        if len(self) >= self.LIMIT:
            self.clear()
        encoded = self[value] = self._encode(value)
        return encoded


_PRIMITIVES: dict[str, Callable[[Any], bytes]] = {
    "string": _text, "bytes": _blob, "long": zigzag, "int": zigzag, "boolean": _boolean,
    "double": struct.Struct("<d").pack, "float": struct.Struct("<f").pack,
}
_MEMOIZED = frozenset({"string", "long", "int", "boolean"})
"""Types whose equal values encode alike (`1 == True` encodes as 1); not floats, where -0.0 == 0.0."""


class Encoder:
    """The schemaless Avro body of a record of one schema, as `fastavro.schemaless_writer` writes it."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        if schema.get("type") != "record":
            raise Unsupported("only record schemas are compiled")
        self._functions: list[str] = []
        self._namespace: dict[str, Any] = {"_blocks": _blocks, "_complete": _complete, "_field_error": _field_error}
        self._record(schema)
        self.source = "\n\n".join(self._functions)
        """The generated Python, one function per record type."""
        exec(compile(self.source, f"<avro encoder {schema.get('name')}>", "exec"), self._namespace)  # noqa: S102
        self.encode: Encode = self._namespace["_record_0"]

    def _record(self, schema: Mapping[str, Any]) -> str:
        """Generate the strict encoder of one record type; its function's name."""
        index = len(self._functions)
        name = f"_record_{index}"
        self._functions.append("")  # reserve this record's place: nested records take the next ones
        fields = schema["fields"]
        self._namespace[f"{name}_names"] = frozenset(field["name"] for field in fields)
        self._namespace[f"{name}_defaults"] = {field["name"]: _python_default(field) for field in fields
                                                if "default" in field}
        values = [(field["name"], self._value(field["type"], f"r[{field['name']!r}]")) for field in fields]
        parts = ", ".join(value for _, value in values) or "b''"
        each = "".join(f"({field!r}, lambda r: {value}), " for field, value in values)
        self._functions[index] = (
            f"def {name}_fast(r):\n"
            f"    return b''.join(({parts},))\n\n"
            f"{name}_fields = ({each})\n\n"
            f"def {name}(r):\n"
            f"    if len(r) == {len(fields)}:\n"  # then no field is missing unless one is extra
            f"        try:\n"
            f"            return {name}_fast(r)\n"
            f"        except KeyError:\n"
            f"            pass\n"
            f"        except Exception as error:\n"
            f"            raise _field_error({name}_fields, r, error) from error\n"
            f"    r = _complete(r, {name}_names, {name}_defaults)\n"
            f"    try:\n"
            f"        return {name}_fast(r)\n"
            f"    except Exception as error:\n"
            f"        raise _field_error({name}_fields, r, error) from error\n"
        )
        return name

    def _value(self, avro_type: Any, value: str) -> str:
        """An expression giving the bytes of `value` (an expression) as `avro_type`."""
        if isinstance(avro_type, dict) and avro_type["type"] == "record":
            return f"{self._record(avro_type)}({value})"
        if isinstance(avro_type, dict) and avro_type["type"] == "array":
            item = self._value(avro_type["items"], "i")
            return f"_blocks(len({value}), b''.join([{item} for i in {value}]))"
        if isinstance(avro_type, dict) and avro_type["type"] == "map":
            item = self._value(avro_type["values"], "v")
            keys = self._value("string", "k")
            return f"_blocks(len({value}), b''.join([{keys} + {item} for k, v in {value}.items()]))"
        encode, memoized = self._scalar(avro_type)
        # One memo per field: a field of unique values (ids, offsets) then evicts only its own.
        name = f"_v{len(self._namespace)}"
        self._namespace[name] = _Memo(encode) if memoized else encode
        return f"{name}[{value}]" if memoized else f"{name}({value})"

    def _scalar(self, avro_type: Any) -> tuple[Callable[[Any], bytes], bool]:
        """The encoding of a primitive, logical or `["null", T]` value, and whether it can be memoized."""
        if isinstance(avro_type, list):
            if len(avro_type) != 2 or avro_type[0] != "null" or avro_type[1] == "null":
                raise Unsupported(f"union {avro_type!r}: only ['null', T] is compiled")
            present, memoized = self._scalar(avro_type[1])
            return (lambda value: b"\x00" if value is None else b"\x02" + present(value)), memoized
        if isinstance(avro_type, str):
            if avro_type not in _PRIMITIVES:
                raise Unsupported(f"type {avro_type!r}")
            return _PRIMITIVES[avro_type], avro_type in _MEMOIZED
        kind, logical = avro_type["type"], avro_type.get("logicalType")
        writer = LOGICAL_WRITERS.get(f"{kind}-{logical}")
        if writer is None:
            return self._scalar(kind)
        binary, _ = self._scalar(kind)
        schema = dict(avro_type)
        if logical == "timestamp-millis":
            return (lambda value: binary(_epoch_millis(value) if isinstance(value, datetime) and value.tzinfo
                                         else writer(value, schema))), True
        if logical == "decimal" and kind == "bytes":
            exact = Context(prec=schema["precision"])
            scale = schema.get("scale", 0)
            return (lambda value: _blob(_unscaled_bytes(value, scale, exact)) if type(value) is Decimal
                    else binary(writer(value, schema))), False
        # Equal datetimes and dates are the same instant and day.
        return (lambda value: binary(writer(value, schema))), True


def _complete(record: Mapping[str, Any], names: frozenset[str], defaults: dict[str, Any]) -> Mapping[str, Any]:
    """The record with its missing fields defaulted; a field the schema lacks is an error."""
    extra = record.keys() - names
    if extra:
        raise ValueError(f"record has more fields than the schema: {sorted(extra)}")
    return {**defaults, **record}


def _field_error(fields: tuple[tuple[str, Encode], ...], record: Mapping[str, Any], error: Exception) -> ValueError:
    """The error naming the first field that does not encode (a missing one is a `KeyError`)."""
    if isinstance(error, KeyError):
        return ValueError(f"{error.args[0]}: required field missing")
    for name, encode in fields:
        try:
            encode(record)
        except Exception as field_error:  # noqa: BLE001 - what any bad value raises, named
            return ValueError(f"{name}: {type(field_error).__name__}: {field_error}")
    return ValueError(f"{type(error).__name__}: {error}")


def compile_encoder(schema: Mapping[str, Any]) -> Encode:
    """The encoder of a record schema (parsed or not); raises `Unsupported` for what it does not write."""
    return Encoder(schema).encode


def _python_default(field: Mapping[str, Any]) -> Any:
    default = field["default"]
    # A default's JSON is the value; containers are copied so no record shares one.
    return dict(default) if isinstance(default, dict) else list(default) if isinstance(default, list) else default
