"""Avro serde for every topic: fastavro schemaless bodies, the writer schema named alongside.

A framing tells readers which schema wrote a record, so they resolve it to the current one:
- `HeaderFraming` (no schema registry): the header `schema` = `<contract>/v<N>`, the `.avsc`
  file that wrote the value, e.g. `raw.anthropic.usage/v2` or `dlq/v1`;
- `schemas.confluent.ConfluentFraming` (`SCHEMA_REGISTRY_URL` set): the Confluent wire format,
  magic byte 0 + 4-byte big-endian schema id + body, under subject `<topic>-value`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import cache, partial
from io import BytesIO
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from fastavro import schemaless_reader, schemaless_writer

from schemas.contracts import ParsedSchema, contract
from schemas.encoder import Encode, Unsupported, compile_encoder
from usagemart.settings import Settings

logger = logging.getLogger(__name__)

SCHEMA_HEADER = "schema"

HeaderValue = bytes | str | None
Headers = Sequence[tuple[str, HeaderValue]] | dict[str, HeaderValue] | None
Record = dict[str, Any]


class SerdeError(ValueError):
    """A record could not be encoded or decoded for a topic; `reason` says why, in one line."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"{topic}: {reason}")
        self.topic = topic
        self.reason = reason


class EncodeError(SerdeError):
    """A record does not fit the topic's current schema; `index` is its place in the batch."""

    def __init__(self, topic: str, reason: str, index: int) -> None:
        super().__init__(topic, reason)
        self.index = index


class DecodeError(SerdeError):
    """Bytes are not a record of the topic (garbage, unknown writer schema, wrong topic)."""


class Framing(Protocol):
    """Where the writer schema of a record is named: in its headers or in a value prefix."""

    def headers(self, topic: str) -> list[tuple[str, bytes]]:
        """Headers a producer adds to every record of `topic`."""
        ...

    def prefix(self, topic: str) -> bytes:
        """Bytes written before the Avro body of every record of `topic`."""
        ...

    def writer(self, topic: str, payload: bytes, headers: Headers) -> tuple[ParsedSchema, int]:
        """The schema that wrote `payload` and the offset its Avro body starts at."""
        ...


class HeaderFraming:
    """The writer schema named in the `schema` header, as `<contract>/v<N>`.

    A version rather than a fingerprint: it names the file in the repository, reads plainly in
    any console consumer, and an unknown one says which side to upgrade.
    """

    def __init__(self) -> None:
        self._writers: dict[tuple[str, bytes], ParsedSchema] = {}

    def headers(self, topic: str) -> list[tuple[str, bytes]]:
        """The `schema` header naming the current version."""
        topic_contract = contract(topic)
        return [(SCHEMA_HEADER, f"{topic_contract.name}/v{topic_contract.current}".encode())]

    def prefix(self, topic: str) -> bytes:
        """Nothing: the body is the whole value."""
        return b""

    def writer(self, topic: str, payload: bytes, headers: Headers) -> tuple[ParsedSchema, int]:
        """The version the `schema` header names."""
        value = _last_header(headers, SCHEMA_HEADER)
        if value is None:
            raise DecodeError(topic, f"no {SCHEMA_HEADER!r} header naming the writer schema")
        schema = self._writers.get((topic, value))
        if schema is None:
            schema = self._writers[(topic, value)] = _named_version(topic, value)
        return schema, 0


class Serde:
    """Encodes and decodes the records of every topic; construct one per process.

    Encoding writes the topic's current schema; decoding resolves whichever version wrote a
    record to the current one. Safe to share between threads.
    """

    def __init__(self, framing: Framing) -> None:
        self.framing = framing

    @classmethod
    def from_settings(cls, settings: Settings) -> Serde:
        """Confluent framing when `SCHEMA_REGISTRY_URL` is set, else header framing."""
        if settings.schema_registry_url is None:
            return cls(HeaderFraming())
        # Imported here: the registry client needs confluent-kafka's schema-registry extras,
        # which header framing does without.
        from schemas.confluent import ConfluentFraming

        # The host only: the URL may carry credentials.
        logger.info("schemas: Confluent wire format, registry at %s", urlsplit(settings.schema_registry_url).hostname)
        return cls(ConfluentFraming.connect(settings.schema_registry_url))

    def headers(self, topic: str) -> list[tuple[str, bytes]]:
        """Headers to add to every record produced to `topic` (empty with a registry)."""
        return self.framing.headers(topic)

    def encode(self, topic: str, record: Mapping[str, Any]) -> bytes:
        """One record as a Kafka value."""
        return self.encode_batch(topic, [record])[0]

    def encode_batch(self, topic: str, records: Sequence[Mapping[str, Any]]) -> list[bytes]:
        """Records as Kafka values, with the current schema.

        Strict: a field the schema lacks, or a missing field without a default, is an
        `EncodeError` rather than silently dropped or defaulted.
        """
        encode = _encoder(contract(topic).name)
        prefix = self.framing.prefix(topic)
        try:
            values = [encode(record) for record in records]
        except Exception:  # noqa: BLE001 - any failure: find the record, say why
            index, error = _first_failure(encode, records)
            raise EncodeError(topic, f"record {index}: {_describe(error)}", index) from error
        return [prefix + value for value in values] if prefix else values

    def decode(self, topic: str, payload: bytes, headers: Headers = None) -> Record:
        """A Kafka value as a record of the current schema; raises `DecodeError`.

        Tombstones (None values on compacted topics) are the caller's to handle.
        """
        writer, start = self.framing.writer(topic, payload, headers)
        current = contract(topic).schema
        stream = BytesIO(payload)
        stream.seek(start)
        try:
            record = schemaless_reader(stream, writer, None if writer is current else current)
        except Exception as error:  # any failure to read untrusted bytes is a decode failure
            raise DecodeError(topic, f"not a valid record: {_describe(error)}") from error
        left = len(payload) - stream.tell()
        if left:
            raise DecodeError(topic, f"{left} bytes left over after the record")
        return cast(Record, record)

    def decode_batch(
        self, topic: str, payloads: Sequence[bytes], headers: Sequence[Headers] | None = None
    ) -> list[Record | DecodeError]:
        """Kafka values as records, aligned with `payloads`: a bad one yields its `DecodeError`
        in its place, so the caller can dead-letter it and go on."""
        decoded: list[Record | DecodeError] = []
        for payload, record_headers in zip(payloads, headers or [None] * len(payloads), strict=True):
            try:
                decoded.append(self.decode(topic, payload, record_headers))
            except DecodeError as error:
                decoded.append(error)
        return decoded


@cache
def _encoder(contract_name: str) -> Encode:
    """The current schema's compiled encoder, or fastavro's writer where the compiler has no rule."""
    schema = contract(contract_name).schema
    try:
        return compile_encoder(schema)
    except Unsupported:
        return partial(_fastavro_body, schema)


def _fastavro_body(schema: ParsedSchema, record: Mapping[str, Any]) -> bytes:
    buffer = BytesIO()
    schemaless_writer(buffer, schema, record, strict_allow_default=True)
    return buffer.getvalue()


def _first_failure(encode: Encode, records: Sequence[Mapping[str, Any]]) -> tuple[int, Exception]:
    for index, record in enumerate(records):
        try:
            encode(record)
        except Exception as error:  # noqa: BLE001 - reported by the caller
            return index, error
    raise AssertionError("a batch failed to encode but each of its records encodes")


def _named_version(topic: str, header: bytes) -> ParsedSchema:
    topic_contract = contract(topic)
    text = header.decode("utf-8", "replace")
    name, separator, version = text.rpartition("/v")
    if not separator or name != topic_contract.name or not version.isdigit():
        raise DecodeError(topic, f"header {SCHEMA_HEADER}={text!r} does not name a {topic_contract.name} schema")
    schema = topic_contract.versions.get(int(version))
    if schema is None:
        raise DecodeError(topic, f"written with {text}, unknown to this reader (current v{topic_contract.current})")
    return schema


def _last_header(headers: Headers, name: str) -> bytes | None:
    if not headers:
        return None
    # dict, not Mapping: an ABC isinstance check per record costs more than the lookup.
    items = headers.items() if isinstance(headers, dict) else headers
    found: HeaderValue = None
    for key, value in items:
        if key == name:
            found = value
    return found.encode() if isinstance(found, str) else found


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
