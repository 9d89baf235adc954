"""The Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the Avro body.

Producers register the current schema under subject `<topic>-value` (the registry's own
compatibility rules then guard the subject); readers fetch a writer schema by id once.
"""

from __future__ import annotations

import json
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from schemas.contracts import ParsedSchema, contract, parse_record
from schemas.serde import DecodeError, Headers

MAGIC_BYTE = b"\x00"
PREFIX_SIZE = 5
_NOT_FOUND = 404


class ConfluentFraming:
    """Writer schemas identified by Confluent Schema Registry ids."""

    def __init__(self, client: SchemaRegistryClient) -> None:
        self._client = client
        self._prefixes: dict[str, bytes] = {}
        self._writers: dict[tuple[str, int], ParsedSchema] = {}

    @classmethod
    def connect(cls, url: str) -> ConfluentFraming:
        """Framing against the registry at `url` (`http(s)://[user:password@]host:port`)."""
        return cls(SchemaRegistryClient({"url": url}))

    def headers(self, topic: str) -> list[tuple[str, bytes]]:
        """None: the schema id travels in the value."""
        return []

    def prefix(self, topic: str) -> bytes:
        """Magic byte and the id of the current schema, registered on first use."""
        prefix = self._prefixes.get(topic)
        if prefix is None:
            schema = Schema(json.dumps(contract(topic).definition), schema_type="AVRO")
            schema_id = self._client.register_schema(f"{topic}-value", schema)
            prefix = self._prefixes[topic] = MAGIC_BYTE + schema_id.to_bytes(4, "big")
        return prefix

    def writer(self, topic: str, payload: bytes, headers: Headers) -> tuple[ParsedSchema, int]:
        """The schema whose id follows the magic byte.

        Only an id the registry does not know is a `DecodeError`; any other registry failure
        propagates, so an outage stops the consumer instead of dead-lettering good records.
        """
        if len(payload) < PREFIX_SIZE or payload[:1] != MAGIC_BYTE:
            raise DecodeError(topic, "not in the Confluent wire format (magic byte 0, schema id, body)")
        schema_id = int.from_bytes(payload[1:PREFIX_SIZE], "big")
        schema = self._writers.get((topic, schema_id))
        if schema is None:
            schema = self._writers[(topic, schema_id)] = self._fetch(topic, schema_id)
        return schema, PREFIX_SIZE

    def _fetch(self, topic: str, schema_id: int) -> ParsedSchema:
        try:
            registered = self._client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == _NOT_FOUND:
                raise DecodeError(topic, f"schema id {schema_id} is not in the registry") from error
            raise
        if registered.schema_type not in (None, "AVRO") or registered.schema_str is None:
            raise DecodeError(topic, f"schema id {schema_id} is a {registered.schema_type} schema, not Avro")
        return self._parse(topic, schema_id, json.loads(registered.schema_str))

    def _parse(self, topic: str, schema_id: int, definition: Any) -> ParsedSchema:
        topic_contract = contract(topic)
        # The current schema itself: reading with it skips schema resolution, the slow path.
        if definition == topic_contract.definition:
            return topic_contract.schema
        try:
            return parse_record(definition)
        except Exception as error:  # fastavro raises SchemaParseError, ValueError, KeyError, ...
            raise DecodeError(topic, f"schema id {schema_id} is not a valid Avro schema: {error}") from error
