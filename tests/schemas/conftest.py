"""Sample records per contract, from `samples/<contract>.json`, as the Python values Avro takes.

Samples are plain JSON: timestamps as ISO 8601, dates as `YYYY-MM-DD`, decimals as text, bytes
as base64, and a string field given as a JSON object (`raw_json`) is that object serialized.
Every field of the current schema must be present, so the samples document the whole record.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schemas.contracts import DLQ_CONTRACT, contract, contract_names

SAMPLES = Path(__file__).with_name("samples")


def topic_of(name: str) -> str:
    """A topic that follows contract `name` (the dlq contract serves every `dlq.<stage>`)."""
    return f"{DLQ_CONTRACT}.normalize" if name == DLQ_CONTRACT else name


def to_avro(value: Any, avro_type: Any) -> Any:
    """A JSON sample value as the value fastavro writes for `avro_type` (a schema definition)."""
    if isinstance(avro_type, list):
        branches = [branch for branch in avro_type if branch != "null"]
        assert len(branches) == 1, f"samples support [null, T] unions only, got {avro_type}"
        return None if value is None else to_avro(value, branches[0])
    if isinstance(avro_type, str):
        if avro_type == "bytes":
            return base64.b64decode(value)
        if avro_type == "string" and not isinstance(value, str):
            return json.dumps(value)
        return value
    logical = avro_type.get("logicalType")
    if logical == "timestamp-millis":
        return datetime.fromisoformat(value)
    if logical == "date":
        return date.fromisoformat(value)
    if logical == "decimal":
        return Decimal(value)
    kind = avro_type["type"]
    if kind == "record":
        missing = [field["name"] for field in avro_type["fields"] if field["name"] not in value]
        assert not missing, f"sample lacks {missing} of {avro_type['name']}"
        return {field["name"]: to_avro(value[field["name"]], field["type"]) for field in avro_type["fields"]}
    if kind == "array":
        return [to_avro(item, avro_type["items"]) for item in value]
    if kind == "map":
        return {key: to_avro(item, avro_type["values"]) for key, item in value.items()}
    return to_avro(value, kind)


def sample(name: str) -> dict[str, Any]:
    """Contract `name`'s sample record, complete for its current version."""
    raw = json.loads((SAMPLES / f"{name}.json").read_text())
    record: dict[str, Any] = to_avro(raw, dict(contract(name).definition))
    return record


@pytest.fixture(params=contract_names())
def contract_name(request: pytest.FixtureRequest) -> str:
    """Every contract under schemas/avro."""
    name: str = request.param
    return name


@pytest.fixture
def topic(contract_name: str) -> str:
    """A topic of the contract."""
    return topic_of(contract_name)


@pytest.fixture
def record(contract_name: str) -> dict[str, Any]:
    """The contract's sample record."""
    return sample(contract_name)


@pytest.fixture
def sample_of() -> Callable[[str], dict[str, Any]]:
    """The sample record of a named contract."""
    return sample


@pytest.fixture
def avro_value() -> Callable[[Any, Any], Any]:
    """`to_avro`: a JSON value (a sample's, a schema default) as the value fastavro writes."""
    return to_avro
