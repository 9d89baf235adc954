"""Request parameter parsing shared by the vendor modules; a bad value is a 400 `VendorError`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from streams.simulator.vendor import VendorError


def bad_request(message: str, code: str | None = None) -> VendorError:
    """A 400 error; `code` is a vendor error code where the vendor has one."""
    return VendorError(400, message, code)


def int_value(value: object, name: str, low: int, high: int | None = None) -> int:
    """An integer within [low, high]; a JSON int or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_request(f"{name} must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise bad_request(f"{name} must be {bound} (got {number})")
    return number


def int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    """An integer query parameter within [low, high], or `default` when absent."""
    if name not in query:
        return default
    return int_value(query[name], name, low, high)


def time_value(text: str, name: str) -> int:
    """Epoch seconds from an RFC 3339 timestamp (a date alone means its midnight UTC)."""
    # An unencoded `+` in a query string arrives as a space.
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise bad_request(f"{name} must be an RFC 3339 timestamp (got {text!r})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def date_value(text: str, name: str) -> date:
    """A `YYYY-MM-DD` date."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise bad_request(f"{name} must be a UTC date YYYY-MM-DD (got {text!r})")


def encode_token(prefix: str, payload: dict[str, Any]) -> str:
    """An opaque page token carrying `payload`."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(prefix: str, text: str, name: str) -> dict[str, Any]:
    """The payload of a token made by `encode_token`; anything else is a 400."""
    body = text.removeprefix(prefix)
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        payload = None
    if not text.startswith(prefix) or not isinstance(payload, dict):
        raise bad_request(f"invalid {name} token")
    return payload
