"""The Confluent wire format, against confluent-kafka's in-memory registry (`mock://`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro import schemaless_writer

from schemas.confluent import ConfluentFraming
from schemas.contracts import contract
from schemas.serde import DecodeError, Serde

USAGE = "raw.anthropic.usage"


@pytest.fixture
def registry() -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": "mock://usage-mart"})


@pytest.fixture
def serde(registry: SchemaRegistryClient) -> Serde:
    return Serde(ConfluentFraming(registry))


def test_every_topic_round_trips_in_the_wire_format(serde: Serde, topic: str, record: dict[str, Any]) -> None:
    [payload] = serde.encode_batch(topic, [record])
    assert serde.headers(topic) == []
    assert serde.decode(topic, payload) == record


def test_value_is_magic_byte_schema_id_and_body(
    serde: Serde, registry: SchemaRegistryClient, sample_of: Callable[[str], dict[str, Any]]
) -> None:
    payload = serde.encode(USAGE, sample_of(USAGE))
    registered = registry.get_latest_version(f"{USAGE}-value")
    assert payload[:1] == b"\x00"
    assert int.from_bytes(payload[1:5], "big") == registered.schema_id
    assert json.loads(registered.schema.schema_str or "null") == contract(USAGE).definition
    # The current schema read back from the registry skips resolution (the fast path).
    assert serde.framing.writer(USAGE, payload, None)[0] is contract(USAGE).schema


def test_a_reader_resolves_an_older_writer_it_never_registered(
    registry: SchemaRegistryClient, sample_of: Callable[[str], dict[str, Any]]
) -> None:
    v1 = contract(USAGE).versions[1]
    v1_fields = {field["name"] for field in v1["fields"]}
    old_record = {name: value for name, value in sample_of(USAGE).items() if name in v1_fields}
    # An older producer registered v1 and wrote with it.
    v1_json = json.dumps(contract(USAGE).definitions[1])
    v1_id = registry.register_schema(f"{USAGE}-value", Schema(v1_json, schema_type="AVRO"))
    body = BytesIO()
    schemaless_writer(body, v1, old_record)

    decoded = Serde(ConfluentFraming(registry)).decode(USAGE, b"\x00" + v1_id.to_bytes(4, "big") + body.getvalue())

    assert decoded == old_record | {"inference_geo": None, "account_id": None, "service_account_id": None}


@pytest.mark.parametrize(("payload", "reason"), [
    (b"", "not in the Confluent wire format"),
    (b"\x01\x00\x00\x00\x01body", "not in the Confluent wire format"),
    (b"\x00\x00\x00\x30\x39body", "schema id 12345 is not in the registry"),
])
def test_foreign_bytes_raise_decode_error(serde: Serde, payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as raised:
        serde.decode(USAGE, payload)
    assert raised.value.topic == USAGE


def test_garbage_body_with_a_known_id_raises_decode_error(
    serde: Serde, sample_of: Callable[[str], dict[str, Any]]
) -> None:
    prefix = serde.encode(USAGE, sample_of(USAGE))[:5]
    with pytest.raises(DecodeError, match="not a valid record"):
        serde.decode(USAGE, prefix + b"\xff\xfe\xfd")
