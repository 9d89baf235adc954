"""An `updated_since` feed, as the project's own APIs serve their resources (SOURCES.md, "Sources
defined by this project"): rows oldest change first, read from an inclusive `updated_since`, paged
by an opaque `next_cursor`, errors as `{"error": {"code", "message"}, "request_id"}`.

A `FeedApi` is one such API: resources served at `GET /v1/<api>/<resource>?updated_since=&limit=
&cursor=`, each a `Feed` of its ground truth sorted by (change time, natural key).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from streams.simulator.params import bad_request, decode_token, encode_token, int_param, time_value
from streams.simulator.vendor import WORLD, Vendor, VendorError, json_response, no_auth
from streams.simulator.world import World, iso

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_CODES = {400: "invalid_request", 401: "unauthorized", 404: "not_found", 429: "rate_limited",
          500: "internal_error", 529: "overloaded"}

SortKey = tuple[str, ...]


@dataclass(frozen=True)
class Feed:
    """A resource's rows sorted by (`time_field`, natural key): what its endpoint pages over."""

    rows: list[dict[str, Any]]
    keys: list[SortKey]

    @classmethod
    def of(cls, rows: Sequence[dict[str, Any]], time_field: str, key_fields: Sequence[str]) -> Feed:
        """Sort `rows` by their change time (RFC 3339 text with `Z`, so text order is time order), then key."""
        def sort_key(row: dict[str, Any]) -> SortKey:
            return (row[time_field], *("" if row[name] is None else str(row[name]) for name in key_fields))

        ordered = sorted(rows, key=sort_key)
        return cls(ordered, [sort_key(row) for row in ordered])

    def since(self, updated_since: int | None) -> list[dict[str, Any]]:
        """The rows changed at or after `updated_since` (epoch seconds; None for all), oldest change first."""
        return self.rows[self._first(updated_since):]

    def page(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The response body to a request with `query` (`updated_since`, `limit`, `cursor`)."""
        since = time_value(query["updated_since"], "updated_since") if "updated_since" in query else None
        limit = int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        first = self._first(since)
        if "cursor" in query:
            after = decode_token("cur_", query["cursor"], "cursor").get("after")
            width = len(self.keys[0]) if self.keys else None
            if not isinstance(after, list) or not all(isinstance(part, str) for part in after) \
                    or (width is not None and len(after) != width):
                raise bad_request("invalid cursor token")
            first = max(first, bisect.bisect_right(self.keys, tuple(after)))
        page = self.rows[first: first + limit]
        more = first + limit < len(self.rows)
        next_cursor = encode_token("cur_", {"after": list(self.keys[first + limit - 1])}) if more else None
        return {"data": page, "next_cursor": next_cursor}

    def _first(self, updated_since: int | None) -> int:
        return 0 if updated_since is None else bisect.bisect_left(self.keys, (iso(updated_since),))


@dataclass(frozen=True)
class Resource:
    """One resource of a feed API."""

    time_field: str
    """The change time its `updated_since` reads."""
    key_fields: tuple[str, ...]
    """Its natural key: with the change time, it orders the rows and the cursor."""
    rows: Callable[[World], list[dict[str, Any]]]
    """Every row of the world at the current revision."""


@dataclass(frozen=True)
class FeedApi:
    """An API of the project whose resources are `updated_since` feeds under `/v1/<name>/`."""

    name: str
    resources: Mapping[str, Resource]

    def feed(self, world: World, resource: str) -> Feed:
        """A resource's rows at the world's current revision, oldest change first."""
        spec = self.resources[resource]
        return world.memo((self.name, "feed", resource, world.revision),
                          lambda: Feed.of(spec.rows(world), spec.time_field, spec.key_fields))

    def routes(self) -> web.RouteTableDef:
        """`GET /v1/<name>/<resource>` for every resource."""
        routes = web.RouteTableDef()

        @routes.get(f"/v1/{self.name}/{{resource}}")
        async def resource_route(request: web.Request) -> web.Response:
            resource = request.match_info["resource"]
            if resource not in self.resources:
                raise VendorError(404, f"no resource {resource!r}; expected one of {', '.join(self.resources)}")
            return json_response(self.feed(request.app[WORLD], resource).page(request.query))

        return routes

    def vendor(self) -> Vendor:
        """The server's descriptor: no authentication, the project's error shape."""
        return Vendor(name=self.name, prefixes=(f"/v1/{self.name}/",), routes=self.routes(), authenticate=no_auth,
                      error_body=_error_body, continues=_continues)


def _error_body(error: VendorError, request_id: str) -> dict[str, Any]:
    return {"error": {"code": error.code or _CODES.get(error.status, "error"), "message": error.message},
            "request_id": request_id}


async def _continues(request: web.Request) -> bool:
    return "cursor" in request.query
