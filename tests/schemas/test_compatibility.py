"""Backward compatibility: every version kept still reads into the current one.

Checked with fastavro's own schema resolution, on the sample and on generated records that
exercise every branch of the writer schema; the check is shown to catch a breaking change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.utils import generate_many

from schemas.contracts import contract, contract_names
from schemas.serde import SCHEMA_HEADER, HeaderFraming, Serde

GENERATED = 64

# Upstream drift documented in SOURCES.md ("newer" fields), shipped as v2 over the v1 without them.
DRIFTS = {
    "raw.anthropic.usage": {"inference_geo", "account_id", "service_account_id"},
    "raw.cursor.members": {"id", "isRemoved"},
    "raw.cursor.daily_usage": {"userId", "day"},
}


def resolution_errors(writer: Mapping[str, Any], reader: Mapping[str, Any]) -> list[str]:
    """Why records written with `writer` do not read with `reader` (empty when they do)."""
    writer_schema, reader_schema = parse_schema(dict(writer)), parse_schema(dict(reader))
    errors = set()
    for record in generate_many(writer_schema, GENERATED):
        buffer = BytesIO()
        schemaless_writer(buffer, writer_schema, record)
        buffer.seek(0)
        try:
            schemaless_reader(buffer, writer_schema, reader_schema)
        except SchemaResolutionError as error:
            errors.add(str(error))
    return sorted(errors)


def _earlier_versions() -> list[tuple[str, int]]:
    return [(name, version) for name in contract_names() for version in contract(name).versions
            if version < contract(name).current]


@pytest.mark.parametrize(("name", "version"), _earlier_versions())
def test_earlier_version_resolves_to_the_current(name: str, version: int) -> None:
    assert resolution_errors(contract(name).definitions[version], contract(name).definition) == []


@pytest.mark.parametrize(("name", "version"), _earlier_versions())
def test_record_written_by_an_earlier_producer_reads_as_current(
    name: str, version: int, sample_of: Callable[[str], dict[str, Any]], avro_value: Callable[[Any, Any], Any]
) -> None:
    writer = contract(name).versions[version]
    written_fields = {field["name"] for field in writer["fields"]}
    old_record = {field: value for field, value in sample_of(name).items() if field in written_fields}
    buffer = BytesIO()
    schemaless_writer(buffer, writer, old_record)

    decoded = Serde(HeaderFraming()).decode(name, buffer.getvalue(), [(SCHEMA_HEADER, f"{name}/v{version}".encode())])

    expected = {
        field["name"]: old_record[field["name"]] if field["name"] in written_fields
        else avro_value(field["default"], field["type"])
        for field in contract(name).definition["fields"]
    }
    assert decoded == expected


@pytest.mark.parametrize(("name", "new_fields"), DRIFTS.items())
def test_documented_drift_is_a_new_version(name: str, new_fields: set[str]) -> None:
    names = {version: {field["name"] for field in schema["fields"]} for version, schema in contract(name).versions.items()}
    assert names[2] - names[1] == new_fields
    assert names[1] - names[2] == set()


def test_check_detects_a_new_required_field() -> None:
    current = contract("raw.cursor.members").definition
    breaking = copy.deepcopy(dict(current))
    breaking["fields"].append({"name": "seat_type", "type": "string"})
    assert resolution_errors(current, breaking) == ["No default value for field seat_type in usagemart.raw.cursor.Member"]


def test_check_detects_a_changed_type() -> None:
    current = contract("raw.stripe.charges").definition
    breaking = copy.deepcopy(dict(current))
    amount = next(field for field in breaking["fields"] if field["name"] == "amount")
    amount["type"] = "string"
    assert resolution_errors(current, breaking)
