"""Stripe: charges and the events of their state changes.

Ground truth (pure functions of the world): `charges` (latest state at `now`) and `events`
(within the 30-day retention), both newest first. Amounts are integers in the currency's
smallest unit (JPY has none: whole yen); currencies are lowercase; times are epoch SECONDS.
Stripe does not restate, so revisions leave it alone.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from streams.simulator.params import bad_request, int_param, int_value
from streams.simulator.vendor import WORLD, KeyCheck, Vendor, VendorError, json_response
from streams.simulator.world import DAY, World, day_start, token

API_VERSION = "2024-06-20"
EVENT_RETENTION = 30 * DAY
CURRENCIES = {
    # currency: (share of charges, price points in the smallest unit)
    "usd": (60, (900, 1900, 4900, 9900, 19900, 49900)),
    "eur": (15, (900, 1900, 4500, 8900, 17900)),
    "gbp": (10, (800, 1600, 3900, 7900)),
    "jpy": (8, (1000, 3000, 5000, 12000, 48000)),
    "cad": (7, (1200, 2500, 6500, 12900)),
}
FAILURES = (
    ("card_declined", "Your card was declined."),
    ("insufficient_funds", "Your card has insufficient funds."),
    ("expired_card", "Your card has expired."),
)
_LIST_KEYS = ("starting_after", "ending_before")
_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 404: "invalid_request_error",
                405: "invalid_request_error", 429: "invalid_request_error"}


_Step = tuple[int, str, dict[str, Any], dict[str, Any]]
"""A visible state of a charge: (time, event type, state, previous attributes)."""


@dataclass
class _Charge:
    """A charge at creation and the later changes of its state, as (time, event type, patch)."""

    created: dict[str, Any]
    changes: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


# --- ground truth ---------------------------------------------------------------------------


def _customers(world: World) -> list[str]:
    rng = world.rng("stripe.customers")
    return [f"cus_{token(rng, 14)}" for _ in range(40)]


def _day_charges(world: World, day: date) -> list[_Charge]:
    return world.memo(("stripe.charges", day), lambda: _make_day_charges(world, day))


def _make_day_charges(world: World, day: date) -> list[_Charge]:
    rng = world.rng("stripe.charges", day)
    customers = world.memo(("stripe.customers",), lambda: _customers(world))
    count = rng.randint(8, 20) if day.weekday() >= 5 else rng.randint(20, 45)
    created = sorted(day_start(day) + rng.randrange(DAY) for _ in range(count))
    return [_charge(rng, ts, customers) for ts in created if ts < world.now_ts]


def _charge(rng: random.Random, created: int, customers: list[str]) -> _Charge:
    currency = rng.choices(list(CURRENCIES), [share for share, _ in CURRENCIES.values()])[0]
    amount = rng.choice(CURRENCIES[currency][1]) * rng.choice((1, 1, 1, 2, 3))
    failed = rng.random() < 0.06
    failure = rng.choice(FAILURES) if failed else (None, None)
    pending = not failed and rng.random() < 0.04
    authorized_only = not failed and not pending and rng.random() < 0.08
    charge = _Charge({
        "id": f"ch_{token(rng, 24)}", "object": "charge", "amount": amount,
        "amount_captured": 0 if failed or authorized_only else amount, "amount_refunded": 0,
        "captured": not (failed or authorized_only), "created": created, "currency": currency,
        "customer": rng.choice(customers) if rng.random() < 0.9 else None,
        "description": rng.choice(("Subscription update", "Usage overage", "One-off purchase", None)),
        "failure_code": failure[0], "failure_message": failure[1],
        "livemode": rng.random() >= 0.05, "metadata": {"order_id": f"ord_{token(rng, 10)}"},
        "paid": not (failed or pending), "payment_intent": f"pi_{token(rng, 24)}", "refunded": False,
        "status": "failed" if failed else "pending" if pending else "succeeded",
    })
    later = created
    if pending:
        later += rng.randint(3600, 3 * DAY)
        charge.changes.append((later, "charge.succeeded", {"status": "succeeded", "paid": True}))
    if authorized_only:
        later += rng.randint(600, 2 * DAY)
        charge.changes.append((later, "charge.captured", {"captured": True, "amount_captured": amount}))
    if not failed and rng.random() < 0.08:
        refund = amount if rng.random() < 0.6 else amount // 2
        later += rng.randint(3600, 10 * DAY)
        charge.changes.append((later, "charge.refunded", {"amount_refunded": refund, "refunded": refund == amount}))
    if rng.random() < 0.06:
        later += rng.randint(60, 5 * DAY)
        note = {"order_id": charge.created["metadata"]["order_id"], "note": "billing address corrected"}
        charge.changes.append((later, "charge.updated", {"metadata": note}))
    return charge


def _timelines(world: World) -> list[tuple[_Charge, list[_Step]]]:
    """Each charge with its visible states."""
    return world.memo(("stripe.timelines",), lambda: [
        (charge, _timeline(charge, world.now_ts)) for day in world.dates() for charge in _day_charges(world, day)
    ])


def _timeline(charge: _Charge, now: int) -> list[_Step]:
    state = charge.created
    steps: list[_Step] = [(state["created"], f"charge.{state['status']}", state, {})]
    for at, kind, patch in charge.changes:
        if at >= now:
            break
        previous = {name: state[name] for name in patch}
        state = {**state, **patch}
        steps.append((at, kind, state, previous))
    return steps


def charges(world: World) -> list[dict[str, Any]]:
    """Every charge in its state at `now`, newest first (by created, then id)."""
    return world.memo(("stripe.charge_list",), lambda: sorted(
        (steps[-1][2] for _, steps in _timelines(world)),
        key=lambda charge: (charge["created"], charge["id"]), reverse=True,
    ))


def events(world: World) -> list[dict[str, Any]]:
    """`charge.*` events of the last 30 days, newest first; each carries the charge as it became."""
    return world.memo(("stripe.event_list",), lambda: _make_events(world))


def _make_events(world: World) -> list[dict[str, Any]]:
    oldest = world.now_ts - EVENT_RETENTION
    rows = []
    for charge, steps in _timelines(world):
        for at, kind, state, previous in steps:
            if at < oldest:
                continue
            rng = world.rng("stripe.event", state["id"], kind)
            data: dict[str, Any] = {"object": state}
            if previous:
                data["previous_attributes"] = previous
            rows.append({
                "id": f"evt_{token(rng, 24)}", "object": "event", "api_version": API_VERSION, "created": at,
                "data": data, "livemode": state["livemode"], "pending_webhooks": 0,
                "request": {"id": None, "idempotency_key": None}, "type": kind,
            })
    return sorted(rows, key=lambda row: (row["created"], row["id"]), reverse=True)


# --- requests -------------------------------------------------------------------------------


def _authenticate(request: web.Request, accepts: KeyCheck) -> None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise VendorError(401, "You did not provide an API key. Provide it in the Authorization header "
                               "(i.e. Authorization: Bearer YOUR_SECRET_KEY).")
    if not accepts(key):
        raise VendorError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}")


def _error_body(error: VendorError, request_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": _ERROR_TYPES.get(error.status, "api_error"), "message": error.message}
    if error.code or error.status == 429:
        body["code"] = "rate_limit" if error.status == 429 else error.code
    return {"error": body}


async def _continues(request: web.Request) -> bool:
    return any(name in request.query for name in _LIST_KEYS)


def _created_filter(query: MultiMapping[str]) -> Callable[[int], bool]:
    bounds = {op: int_value(query[f"created[{op}]"], f"created[{op}]", 0)
              for op in ("gt", "gte", "lt", "lte") if f"created[{op}]" in query}
    if "created" in query:
        bounds["gte"] = bounds["lte"] = int_value(query["created"], "created", 0)
    return lambda at: (at > bounds.get("gt", -1) and at >= bounds.get("gte", -1)
                       and at < bounds.get("lt", 1 << 62) and at <= bounds.get("lte", 1 << 62))


def _type_filter(query: MultiMapping[str]) -> Callable[[str], bool]:
    types = set(query.getall("types[]", []))
    pattern = query.get("type")
    if pattern is not None and pattern.endswith("*"):
        types.add(pattern)
        return lambda kind: kind.startswith(pattern[:-1]) or kind in types
    if pattern is not None:
        types.add(pattern)
    return lambda kind: not types or kind in types


def list_page(rows: list[dict[str, Any]], everything: list[dict[str, Any]], query: MultiMapping[str],
              url: str, noun: str) -> dict[str, Any]:
    """A Stripe list page of `rows` (filtered, newest first); cursors may name any of `everything`."""
    limit = int_param(query, "limit", 10, 1, 100)
    if all(name in query for name in _LIST_KEYS):
        raise bad_request("You may only specify one of these parameters: ending_before, starting_after.")
    oldest_first = [(row["created"], row["id"]) for row in reversed(rows)]
    cursor_name = next((name for name in _LIST_KEYS if name in query), None)
    if cursor_name is None:
        return {"object": "list", "data": rows[:limit], "has_more": len(rows) > limit, "url": url}
    anchor = next((row for row in everything if row["id"] == query[cursor_name]), None)
    if anchor is None:
        raise bad_request(f"No such {noun}: '{query[cursor_name]}'", "resource_missing")
    key = (anchor["created"], anchor["id"])
    if cursor_name == "starting_after":
        first_older = len(oldest_first) - bisect.bisect_left(oldest_first, key)
        page, has_more = rows[first_older: first_older + limit], first_older + limit < len(rows)
    else:
        newer = len(oldest_first) - bisect.bisect_right(oldest_first, key)
        page, has_more = rows[max(0, newer - limit): newer], newer > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


# --- routes ---------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/v1/charges")
async def _charges_route(request: web.Request) -> web.Response:
    everything = charges(request.app[WORLD])
    within = _created_filter(request.query)
    rows = [row for row in everything if within(row["created"])]
    return json_response(list_page(rows, everything, request.query, "/v1/charges", "charge"))


@routes.get("/v1/events")
async def _events_route(request: web.Request) -> web.Response:
    query = request.query
    everything = events(request.app[WORLD])
    within, typed = _created_filter(query), _type_filter(query)
    rows = [row for row in everything if within(row["created"]) and typed(row["type"])]
    return json_response(list_page(rows, everything, query, "/v1/events", "event"))


VENDOR = Vendor(
    name="stripe", prefixes=("/v1/charges", "/v1/events"), routes=routes, authenticate=_authenticate,
    error_body=_error_body, continues=_continues,
)
