"""The compiled Avro encoder writes exactly fastavro's bytes, and is as strict."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from schemas.contracts import contract
from schemas.encoder import Unsupported, _Memo, compile_encoder

EVERY_TYPE = parse_schema({
    "type": "record", "name": "EveryType", "namespace": "test",
    "fields": [
        {"name": "text", "type": "string"},
        {"name": "blob", "type": "bytes"},
        {"name": "count", "type": "long"},
        {"name": "small", "type": "int"},
        {"name": "flag", "type": "boolean"},
        {"name": "ratio", "type": "double"},
        {"name": "share", "type": "float"},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 12}},
        {"name": "maybe", "type": ["null", "string"], "default": None},
        {"name": "maybe_at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": None},
        {"name": "tags", "type": {"type": "map", "values": "string"}, "default": {}},
        {"name": "items", "type": {"type": "array", "items": {
            "type": "record", "name": "Item", "fields": [
                {"name": "name", "type": "string"}, {"name": "qty", "type": ["null", "long"], "default": None}]}}},
        {"name": "counts", "type": {"type": "map", "values": "long"}, "default": {}},
    ],
})
BASE: dict[str, Any] = {
    "text": "plain", "blob": b"\x00\xff", "count": 0, "small": 0, "flag": False, "ratio": 0.0, "share": 0.0,
    "at": datetime(2026, 3, 1, tzinfo=UTC), "day": date(2026, 3, 1), "amount": Decimal("0"), "maybe": None,
    "maybe_at": None, "tags": {}, "items": [], "counts": {},
}
VARIATIONS: list[dict[str, Any]] = [
    {},
    {"text": "", "blob": b""},
    {"text": "ünïcødé ✓ " * 20, "maybe": "x" * 300},
    {"count": -1, "small": -64},
    {"count": 63, "small": 64},
    {"count": 2**62, "small": 2**31 - 1},
    {"count": -(2**63), "small": -(2**31)},
    {"count": True, "flag": True},
    {"ratio": -1.5e300, "share": 3.25},
    {"at": datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC)},
    {"at": datetime(1969, 12, 31, 23, 59, 59, 500, tzinfo=UTC)},
    {"at": datetime(2026, 3, 1, 9, tzinfo=timezone(timedelta(hours=5, minutes=30)))},
    {"at": 1_772_469_003_214, "day": 20_000},
    {"day": date(1960, 1, 1)},
    {"amount": Decimal("-12.345678901234")},
    {"amount": Decimal("1E+20")},
    {"amount": Decimal("0.50")},
    {"maybe_at": datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)},
    {"tags": {"a": "1", "ключ": "значение", "": ""}},
    {"items": [{"name": "one", "qty": 1}, {"name": "two", "qty": None}, {"name": "three"}]},
    {"counts": {"n": -5, "m": 10**12}},
]


def fastavro_bytes(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = BytesIO()
    schemaless_writer(buffer, schema, record, strict_allow_default=True)
    return buffer.getvalue()


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda variation: ",".join(variation) or "base")
def test_every_type_encodes_as_fastavro_does(variation: dict[str, Any]) -> None:
    record = BASE | variation
    assert compile_encoder(EVERY_TYPE)(record) == fastavro_bytes(EVERY_TYPE, record)


def test_every_contract_sample_encodes_as_fastavro_does(contract_name: str, record: dict[str, Any]) -> None:
    schema = contract(contract_name).schema
    assert compile_encoder(schema)(record) == fastavro_bytes(schema, record)


def test_missing_fields_take_their_defaults() -> None:
    record = {name: value for name, value in BASE.items() if name not in ("maybe", "tags", "counts")}
    assert compile_encoder(EVERY_TYPE)(record) == fastavro_bytes(EVERY_TYPE, BASE)


def test_is_strict_and_names_the_field() -> None:
    encode = compile_encoder(EVERY_TYPE)
    with pytest.raises(ValueError, match=r"more fields than the schema: \['texte'\]"):
        encode(BASE | {"texte": "typo"})
    # As many fields as the schema, one of them misspelt: a missing field, not a silent default.
    swapped = {("mabye" if name == "maybe" else name): value for name, value in BASE.items()}
    with pytest.raises(ValueError, match="mabye"):
        encode(swapped)
    with pytest.raises(ValueError, match="text: required field missing"):
        encode({name: value for name, value in BASE.items() if name != "text"})
    with pytest.raises(ValueError, match="^count: TypeError"):
        encode(BASE | {"count": "many"})
    with pytest.raises(ValueError, match="^items: ValueError: qty: TypeError"):
        encode(BASE | {"items": [{"name": "one", "qty": "x"}]})
    with pytest.raises(ValueError, match="^amount: ValueError"):
        encode(BASE | {"amount": Decimal("0.0000000000001")})


@pytest.mark.parametrize("avro_type", [
    {"type": "enum", "name": "Kind", "symbols": ["a", "b"]},
    ["null", "string", "long"],
    ["string", "null"],
    {"type": "fixed", "name": "Hash", "size": 16},
])
def test_what_it_does_not_compile_is_refused(avro_type: Any) -> None:
    with pytest.raises(Unsupported):
        compile_encoder({"type": "record", "name": "R", "fields": [{"name": "f", "type": avro_type}]})


def test_memo_stays_bounded_and_right() -> None:
    memo = _Memo(lambda value: str(value).encode())
    for value in range(_Memo.LIMIT * 3):
        assert memo[value] == str(value).encode()
    assert len(memo) <= _Memo.LIMIT


@pytest.mark.parametrize("amount", [
    Decimal("0"), Decimal("-0"), Decimal("0.000000000001"), Decimal("-0.000000000001"), Decimal("127E-12"),
    Decimal("128E-12"), Decimal("-128E-12"), Decimal("-129E-12"), Decimal("99999999999999999999999999.999999999999"),
    Decimal("-99999999999999999999999999.999999999999"), Decimal("1E+25"), Decimal("12.5"),
])
def test_decimals_encode_as_fastavro_does(amount: Decimal) -> None:
    assert compile_encoder(EVERY_TYPE)(BASE | {"amount": amount}) == fastavro_bytes(EVERY_TYPE, BASE | {"amount": amount})


@pytest.mark.parametrize("amount", [Decimal("1E-13"), Decimal("1" * 39), Decimal("NaN"), Decimal("Infinity")])
def test_decimals_out_of_the_schema_are_refused(amount: Decimal) -> None:
    with pytest.raises(ValueError, match="^amount: "):
        compile_encoder(EVERY_TYPE)(BASE | {"amount": amount})
    with pytest.raises(Exception):  # noqa: B017, PT011 - fastavro refuses them too, in its own words
        fastavro_bytes(EVERY_TYPE, BASE | {"amount": amount})


def test_one_encoder_keeps_values_that_compare_equal_apart() -> None:
    encode = compile_encoder(EVERY_TYPE)
    records = [BASE, BASE | {"ratio": -0.0, "share": -0.0}, BASE | {"count": True, "small": 1.0 == 1}]
    assert [encode(record) for record in records] == [fastavro_bytes(EVERY_TYPE, record) for record in records]
