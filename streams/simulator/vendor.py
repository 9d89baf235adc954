"""What every vendor module provides to the server, and the error and JSON rendering they share.

A vendor module has the same parts in the same order: constants, ground-truth rows (pure
functions of the `World`), request parsing, route handlers, and a `VENDOR` descriptor.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from streams.simulator.world import World

WORLD = web.AppKey("world", World)


class VendorError(Exception):
    """An error response, rendered in the shape of the vendor that serves the path."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


KeyCheck = Callable[[str], bool]
"""True when a presented credential is accepted."""


@dataclass(frozen=True)
class Vendor:
    """A vendor's paths, its auth, its error shape and how to tell a follow-up page request."""

    name: str
    prefixes: tuple[str, ...]
    routes: web.RouteTableDef
    authenticate: Callable[[web.Request, KeyCheck], None]
    """Raise `VendorError` (401, or 400 for a missing required header) unless the request may pass."""
    error_body: Callable[[VendorError, str], dict[str, Any]]
    """The JSON body of an error, given the request id."""
    continues: Callable[[web.Request], Awaitable[bool]]
    """True when the request asks for a page after the first (a cursor, token or page > 1)."""

    def serves(self, path: str) -> bool:
        """True when `path` belongs to this vendor."""
        return path.startswith(self.prefixes)


def dumps(body: Any) -> str:
    """Compact JSON: the same rows always give the same bytes."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response with deterministic bytes."""
    return web.json_response(body, status=status, headers=headers, dumps=dumps)


def no_auth(request: web.Request, accepts: KeyCheck) -> None:
    """For sources defined by this project, which document no authentication."""
