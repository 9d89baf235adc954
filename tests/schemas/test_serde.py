"""The serde with header framing: round trips, strict encoding, and one clear decode error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schemas.contracts import contract
from schemas.serde import SCHEMA_HEADER, DecodeError, EncodeError, HeaderFraming, Serde
from usagemart.settings import Settings

USAGE = "raw.anthropic.usage"


@pytest.fixture
def serde() -> Serde:
    return Serde(HeaderFraming())


def test_every_topic_round_trips_its_sample(serde: Serde, topic: str, record: dict[str, Any]) -> None:
    [payload] = serde.encode_batch(topic, [record])
    assert serde.decode(topic, payload, serde.headers(topic)) == record


def test_header_names_the_contract_and_current_version(serde: Serde) -> None:
    assert serde.headers(USAGE) == [(SCHEMA_HEADER, f"{USAGE}/v{contract(USAGE).current}".encode())]
    assert serde.headers("dlq.sink") == [(SCHEMA_HEADER, b"dlq/v1")]


def test_headers_may_be_a_dict_of_text(serde: Serde, sample_of: Callable[[str], dict[str, Any]]) -> None:
    record = sample_of(USAGE)
    header = serde.headers(USAGE)[0][1].decode()
    assert serde.decode(USAGE, serde.encode(USAGE, record), {SCHEMA_HEADER: header, "source": "anthropic"}) == record


def test_encode_is_strict_and_says_which_record(serde: Serde, sample_of: Callable[[str], dict[str, Any]]) -> None:
    good = sample_of(USAGE)
    with pytest.raises(EncodeError, match=r"record 1: .*more fields than the schema.*modle") as raised:
        serde.encode_batch(USAGE, [good, good | {"modle": "typo"}])
    assert (raised.value.topic, raised.value.index) == (USAGE, 1)
    without_required = {name: value for name, value in good.items() if name != "raw_json"}
    with pytest.raises(EncodeError, match="raw_json"):
        serde.encode(USAGE, without_required)
    with pytest.raises(EncodeError, match="output_tokens"):
        serde.encode(USAGE, good | {"output_tokens": "many"})


def test_encode_fills_defaults(serde: Serde, sample_of: Callable[[str], dict[str, Any]]) -> None:
    record = {name: value for name, value in sample_of(USAGE).items() if name not in ("model", "output_tokens")}
    decoded = serde.decode(USAGE, serde.encode(USAGE, record), serde.headers(USAGE))
    assert (decoded["model"], decoded["output_tokens"]) == (None, 0)


def _garbage_cases(serde: Serde, record: dict[str, Any]) -> dict[str, tuple[bytes, Any, str]]:
    payload = serde.encode(USAGE, record)
    headers = serde.headers(USAGE)
    return {
        "empty": (b"", headers, "not a valid record"),
        "random bytes": (b"\x9c\xff\x01\xfe\x00garbage\x87", headers, "not a valid record"),
        "json": (b'{"starting_at": "2026-03-02"}', headers, "not a valid"),
        "truncated": (payload[:-5], headers, "not a valid record"),
        "trailing bytes": (payload + b"\x00\x01", headers, "2 bytes left over"),
        "no header": (payload, None, "no 'schema' header"),
        "other topic's header": (payload, [(SCHEMA_HEADER, b"raw.cursor.members/v1")], "does not name"),
        "malformed header": (payload, [(SCHEMA_HEADER, b"\xff\xfe")], "does not name"),
        "version from the future": (payload, [(SCHEMA_HEADER, f"{USAGE}/v99".encode())], "unknown to this reader"),
    }


@pytest.mark.parametrize("case", [
    "empty", "random bytes", "json", "truncated", "trailing bytes", "no header", "other topic's header",
    "malformed header", "version from the future",
])
def test_decoding_garbage_raises_decode_error(
    serde: Serde, sample_of: Callable[[str], dict[str, Any]], case: str
) -> None:
    payload, headers, reason = _garbage_cases(serde, sample_of(USAGE))[case]
    with pytest.raises(DecodeError, match=reason) as raised:
        serde.decode(USAGE, payload, headers)
    assert raised.value.topic == USAGE
    assert str(raised.value).startswith(f"{USAGE}: ")


def test_decode_batch_keeps_bad_records_in_place(serde: Serde, sample_of: Callable[[str], dict[str, Any]]) -> None:
    record = sample_of(USAGE)
    good = serde.encode(USAGE, record)
    headers = serde.headers(USAGE)
    decoded = serde.decode_batch(USAGE, [good, b"\x00garbage", good], [headers, headers, headers])
    assert decoded[0] == decoded[2] == record
    assert isinstance(decoded[1], DecodeError)


def test_from_settings_picks_the_framing() -> None:
    assert isinstance(Serde.from_settings(Settings(schema_registry_url=None)).framing, HeaderFraming)
    with_registry = Serde.from_settings(Settings(schema_registry_url="http://user:secret@registry:8081"))
    assert type(with_registry.framing).__name__ == "ConfluentFraming"
