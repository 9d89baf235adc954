"""Cursor Admin API: team members, daily usage, spend and filtered usage events.

Ground truth (pure functions of the world): `members`, `daily_usage`, `usage_events`, `spend`
and `cycle_start_ms`. Times are epoch MILLISECONDS, as the vendor sends them; event
timestamps are strings.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from http import HTTPStatus
from typing import Any

from aiohttp import web

from streams.simulator.params import bad_request, int_value
from streams.simulator.vendor import WORLD, KeyCheck, Vendor, VendorError, json_response
from streams.simulator.world import DAY, Person, World, day_start

MAX_RANGE_MS = 30 * DAY * 1000
"""daily-usage-data rejects ranges longer than 30 days."""
DEFAULT_EVENTS_WINDOW_MS = 7 * DAY * 1000
KINDS = ("Included in Business", "Usage-based", "Errored, Not Charged")
MODELS = {
    # model: (input, output) list price in cents per million tokens
    "claude-4.5-sonnet": (300, 1500), "claude-4.5-opus-high-thinking": (500, 2500),
    "gpt-5": (125, 1000), "composer-1": (125, 1000), "auto": (125, 600), "gemini-2.5-pro": (125, 1000),
}
SORT_KEYS = ("amount", "date", "user")
_EXTENSIONS = ("ts", "tsx", "py", "go", "rs", "java", "sql", "md")
_CLIENT_VERSIONS = ("1.6.45", "1.7.39", "1.7.44", "2.0.34", "2.0.43")
_HOUR_WEIGHTS = (0, 0, 0, 0, 0, 0, 1, 3, 7, 9, 9, 8, 5, 8, 9, 9, 8, 6, 3, 2, 2, 1, 1, 0)
_REPEAT_SHARE = 0.04
"""Share of events the vendor lists twice, byte for byte (pollers must keep both)."""


@dataclass(frozen=True)
class _Member:
    id: int
    person: Person
    email: str
    role: str
    joined_on: date
    removed_on: date | None
    activity: float
    scale: float
    models: tuple[str, ...]
    usage_based_share: float

    def employed_on(self, day: date) -> bool:
        return self.joined_on <= day and (self.removed_on is None or day < self.removed_on)


# --- ground truth ---------------------------------------------------------------------------


def _members(world: World) -> list[_Member]:
    return world.memo(("cursor.members",), lambda: _make_members(world))


def _make_members(world: World) -> list[_Member]:
    rng = world.rng("cursor.members")
    people = sorted(rng.sample(world.people[: world.users], min(world.cursor_members, world.users)),
                    key=lambda person: person.index)
    removed = set(rng.sample(range(len(people)), min(3, len(people))))
    members = []
    for number, person in enumerate(people):
        joined = (world.start - timedelta(days=rng.randint(1, 300)) if rng.random() < 0.85
                  else world.start + timedelta(days=rng.randrange(world.days)))
        removed_on = (joined + timedelta(days=rng.randint(5, max(5, world.days // 2)))
                      if number in removed else None)
        # Cursor keeps the address as the member typed it; a few are mixed case.
        local, _, domain = person.email.partition("@")
        email = person.email if rng.random() > 0.07 else f"{local.title()}@{domain}"
        members.append(_Member(
            id=101 + number, person=person, email=email, role="owner" if number < 2 else "member",
            joined_on=joined, removed_on=removed_on, activity=rng.uniform(0.5, 0.95),
            scale=rng.lognormvariate(0, 0.5), models=tuple(rng.sample(sorted(MODELS), rng.randint(1, 3))),
            usage_based_share=0.35 if rng.random() < 0.25 else 0.0,
        ))
    return members


def members(world: World) -> list[dict[str, Any]]:
    """Team members, removed ones included with `isRemoved`."""
    return [
        {"name": member.person.name, "email": member.email, "role": member.role, "id": member.id,
         "isRemoved": member.removed_on is not None and member.removed_on <= world.last_day}
        for member in _members(world)
    ]


_Timed = tuple[int, _Member, dict[str, Any]]
"""An event with its time in ms and its member."""


def _day_events(world: World, day: date) -> list[_Timed]:
    """A day's events (ms, member, event) at the current revision, oldest first."""
    revision = world.effective_revision(day)
    return world.memo(("cursor.events", day, revision), lambda: _make_day_events(world, day, revision))


def _make_day_events(world: World, day: date, revision: int) -> list[_Timed]:
    now_ms = world.now_ts * 1000
    events: list[_Timed] = []
    for member in _members(world):
        if not member.employed_on(day):
            continue
        rng = world.rng("cursor.events", day, member.id)
        if rng.random() > member.activity * (0.2 if day.weekday() >= 5 else 1.0):
            continue
        scale = world.rng("cursor.restate", day, member.id, revision).uniform(0.8, 1.2) if revision else 1.0
        for _ in range(int(member.scale * rng.randint(3, 30))):
            ms, event = _event(rng, day, member, scale)
            copies = 2 if rng.random() < _REPEAT_SHARE else 1
            events.extend((ms, member, event) for _ in range(copies) if ms < now_ms)
    events.sort(key=lambda item: item[0])
    return events


def _event(rng: random.Random, day: date, member: _Member, scale: float) -> tuple[int, dict[str, Any]]:
    hour = rng.choices(range(24), _HOUR_WEIGHTS)[0]
    ms = (day_start(day) + hour * 3600 + rng.randrange(3600)) * 1000 + rng.randrange(1000)
    model = rng.choice(member.models)
    draw = rng.random()
    kind = KINDS[2] if draw < 0.03 else KINDS[1] if draw < 0.03 + member.usage_based_share else KINDS[0]
    max_mode = rng.random() < 0.1
    token_based = rng.random() < 0.7
    event: dict[str, Any] = {
        "timestamp": str(ms), "model": model, "kind": kind, "maxMode": max_mode,
        "requestsCosts": 0.0 if kind == KINDS[2] else (2.0 if max_mode else 1.0),
        "isTokenBasedCall": token_based,
    }
    if token_based:
        event["tokenUsage"] = _token_usage(rng, model, scale)
    event["userEmail"] = member.email
    return ms, event


def _token_usage(rng: random.Random, model: str, scale: float) -> dict[str, Any]:
    input_cents, output_cents = MODELS[model]
    usage = {
        "inputTokens": int(rng.lognormvariate(8.5, 1.0) * scale),
        "outputTokens": int(rng.lognormvariate(6.5, 0.9) * scale),
        "cacheWriteTokens": int(rng.lognormvariate(8.0, 1.2) * scale) if rng.random() < 0.4 else 0,
        "cacheReadTokens": int(rng.lognormvariate(10.0, 1.0) * scale) if rng.random() < 0.7 else 0,
    }
    cents = (usage["inputTokens"] * input_cents + usage["outputTokens"] * output_cents
             + usage["cacheWriteTokens"] * input_cents * 1.25 + usage["cacheReadTokens"] * input_cents * 0.1)
    return {**usage, "totalCents": round(cents / 1_000_000, 6)}


def _days_between(world: World, start_ms: int, end_ms: int) -> list[date]:
    return [day for day in world.dates() if start_ms <= day_start(day) * 1000 + DAY * 1000 - 1
            and day_start(day) * 1000 <= end_ms]


def usage_events(world: World, start_ms: int, end_ms: int, email: str | None = None) -> list[dict[str, Any]]:
    """Events with `start_ms <= timestamp <= end_ms`, newest first (exact repeats kept)."""
    wanted = email.lower() if email else None
    picked = [
        (ms, event) for day in _days_between(world, start_ms, end_ms) for ms, member, event in _day_events(world, day)
        if start_ms <= ms <= end_ms and (wanted is None or member.person.email == wanted)
    ]
    picked.sort(key=lambda item: -item[0])
    return [event for _, event in picked]


def daily_usage(world: World, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """One row per member employed that day, for days whose midnight is in [start_ms, end_ms]."""
    return [row for day in world.dates() if start_ms <= day_start(day) * 1000 <= end_ms
            for row in _daily_rows(world, day)]


def _daily_rows(world: World, day: date) -> list[dict[str, Any]]:
    revision = world.effective_revision(day)
    return world.memo(("cursor.daily", day, revision), lambda: _make_daily_rows(world, day, revision))


def _make_daily_rows(world: World, day: date, revision: int) -> list[dict[str, Any]]:
    by_member: dict[int, list[dict[str, Any]]] = {}
    for _, member, event in _day_events(world, day):
        by_member.setdefault(member.id, []).append(event)
    rows = []
    for member in _members(world):
        if member.employed_on(day):
            rng = world.rng("cursor.daily", day, member.id)
            scale = world.rng("cursor.restate_daily", day, member.id, revision).uniform(0.8, 1.2) if revision else 1
            rows.append(_daily_row(rng, day, member, by_member.get(member.id, []), scale))
    return rows


def _daily_row(rng: random.Random, day: date, member: _Member, events: list[dict[str, Any]],
               scale: float) -> dict[str, Any]:
    requests = [event for event in events if event["kind"] != KINDS[2]]
    active = bool(events)
    tabs_shown = int(rng.randint(50, 900) * member.scale * scale) if active else 0
    lines_added = int(rng.randint(20, 2000) * member.scale * scale) if active else 0
    lines_deleted = int(lines_added * rng.uniform(0.1, 0.5))
    applies = int(len(requests) * rng.uniform(0.5, 1.5))
    accepts = int(applies * rng.uniform(0.5, 0.95))
    agent = int(len(requests) * rng.uniform(0.4, 0.8))
    chat = int((len(requests) - agent) * rng.uniform(0.3, 0.7))
    models = [event["model"] for event in requests]
    return {
        "date": day_start(day) * 1000, "day": day.isoformat(), "userId": member.id, "email": member.email,
        "isActive": active, "totalLinesAdded": lines_added, "totalLinesDeleted": lines_deleted,
        "acceptedLinesAdded": int(lines_added * rng.uniform(0.3, 0.8)),
        "acceptedLinesDeleted": int(lines_deleted * rng.uniform(0.3, 0.8)),
        "totalApplies": applies, "totalAccepts": accepts, "totalRejects": applies - accepts,
        "totalTabsShown": tabs_shown, "totalTabsAccepted": int(tabs_shown * rng.uniform(0.2, 0.45)),
        "composerRequests": len(requests) - agent - chat, "chatRequests": chat, "agentRequests": agent,
        "cmdkUsages": rng.randint(0, 15) if active else 0,
        "subscriptionIncludedReqs": sum(event["kind"] == KINDS[0] for event in requests),
        "apiKeyReqs": 0,
        "usageBasedReqs": sum(event["kind"] == KINDS[1] for event in requests),
        "bugbotUsages": rng.randint(0, 3) if active and rng.random() < 0.2 else 0,
        "mostUsedModel": max(sorted(set(models)), key=models.count) if models else None,
        "applyMostUsedExtension": rng.choice(_EXTENSIONS) if active else None,
        "tabMostUsedExtension": rng.choice(_EXTENSIONS) if active else None,
        "clientVersion": rng.choice(_CLIENT_VERSIONS) if active else None,
    }


def cycle_start_ms(world: World) -> int:
    """Start of the current subscription cycle: the first of the last day's month (epoch ms)."""
    return day_start(world.last_day.replace(day=1)) * 1000


def spend(world: World) -> list[dict[str, Any]]:
    """Current members' spend in the current cycle, in join order (what `sortBy=date` sorts by)."""
    start = cycle_start_ms(world)
    events = usage_events(world, start, world.now_ts * 1000)
    rows = []
    for member in sorted(_members(world), key=lambda member: (member.joined_on, member.id)):
        if member.removed_on is not None and member.removed_on <= world.last_day:
            continue
        own = [event for event in events if event["userEmail"] == member.email]
        cents = sum(_event_cents(event) for event in own if event["kind"] == KINDS[1])
        limit = world.rng("cursor.limit", member.id).choice((0, 0, 0, 50, 200))
        rows.append({
            "spendCents": round(cents), "fastPremiumRequests": sum(event["kind"] == KINDS[0] for event in own),
            "name": member.person.name, "email": member.email, "role": member.role,
            "hardLimitOverrideDollars": limit,
        })
    return rows


def _event_cents(event: dict[str, Any]) -> float:
    # Request-priced calls cost 4 cents per request unit beyond the plan.
    usage = event.get("tokenUsage")
    return float(usage["totalCents"]) if usage else 4.0 * float(event["requestsCosts"])


# --- requests -------------------------------------------------------------------------------


def _authenticate(request: web.Request, accepts: KeyCheck) -> None:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        user = ""
    if scheme.lower() != "basic" or not user or not accepts(user):
        raise VendorError(401, "Invalid API key")


def _error_body(error: VendorError, request_id: str) -> dict[str, Any]:
    reason = "Site Overloaded" if error.status == 529 else HTTPStatus(error.status).phrase
    return {"error": reason, "message": error.message}


async def _body(request: web.Request) -> dict[str, Any]:
    # `read()` caches the bytes: the middleware and the handler both parse the body.
    raw = await request.read()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad_request("body must be JSON") from None
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    return body


async def _continues(request: web.Request) -> bool:
    try:
        page = (await _body(request)).get("page", 1)
    except VendorError:
        return False
    return isinstance(page, int) and page > 1


def _page(body: dict[str, Any], default_size: int, max_size: int) -> tuple[int, int]:
    page = int_value(body.get("page", 1), "page", 1)
    size = int_value(body.get("pageSize", default_size), "pageSize", 1, max_size)
    return page, size


# --- routes ---------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/teams/members")
async def _members_route(request: web.Request) -> web.Response:
    return json_response({"teamMembers": members(request.app[WORLD])})


@routes.post("/teams/daily-usage-data")
async def _daily_usage_route(request: web.Request) -> web.Response:
    body = await _body(request)
    for name in ("startDate", "endDate"):
        if name not in body:
            raise bad_request(f"{name} is required (epoch milliseconds)")
    start, end = int_value(body["startDate"], "startDate", 0), int_value(body["endDate"], "endDate", 0)
    if end < start:
        raise bad_request("endDate must not be before startDate")
    if end - start > MAX_RANGE_MS:
        raise bad_request("Date range cannot exceed 30 days")
    return json_response({"data": daily_usage(request.app[WORLD], start, end),
                          "period": {"startDate": start, "endDate": end}})


@routes.post("/teams/spend")
async def _spend_route(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    body = await _body(request)
    page, size = _page(body, 50, 1000)
    sort_by, direction = body.get("sortBy", "amount"), body.get("sortDirection", "desc")
    if sort_by not in SORT_KEYS or direction not in ("asc", "desc"):
        raise bad_request(f"sortBy must be one of {', '.join(SORT_KEYS)} and sortDirection asc or desc")
    term = str(body.get("searchTerm") or "").lower()
    rows = [row for row in spend(world) if term in row["name"].lower() or term in row["email"].lower()]
    if sort_by != "date":
        rows.sort(key=lambda row: row["spendCents"] if sort_by == "amount" else row["name"])
    if direction == "desc":
        rows.reverse()
    return json_response({
        "teamMemberSpend": rows[(page - 1) * size: page * size],
        "subscriptionCycleStart": cycle_start_ms(world), "totalMembers": len(rows),
        "totalPages": math.ceil(len(rows) / size),
    })


@routes.post("/teams/filtered-usage-events")
async def _events_route(request: web.Request) -> web.Response:
    world = request.app[WORLD]
    body = await _body(request)
    end = int_value(body.get("endDate", world.now_ts * 1000), "endDate", 0)
    start = int_value(body.get("startDate", end - DEFAULT_EVENTS_WINDOW_MS), "startDate", 0)
    page, size = _page(body, 10, 1000)
    email = body.get("email")
    events = usage_events(world, start, end, email if isinstance(email, str) and email else None)
    pages = math.ceil(len(events) / size)
    return json_response({
        "totalUsageEventsCount": len(events),
        "pagination": {"numPages": pages, "currentPage": page, "pageSize": size, "hasNextPage": page < pages},
        "usageEvents": events[(page - 1) * size: page * size],
        "period": {"startDate": start, "endDate": end},
    })


VENDOR = Vendor(
    name="cursor", prefixes=("/teams/",), routes=routes, authenticate=_authenticate,
    error_body=_error_body, continues=_continues,
)
