"""Anthropic Admin API: usage and cost reports, Claude Code analytics, API keys and users.

Ground truth (pure functions of the world): `usage_report`, `cost_report`, `claude_code`,
`api_keys`, `users`, and the underlying `usage_events` / `cost_lines` per day. The handlers
only validate, filter and paginate what these return.
"""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from aiohttp import web
from multidict import MultiMapping

from streams.simulator.params import (
    bad_request, date_value, decode_token, encode_token, int_param, int_value, time_value,
)
from streams.simulator.vendor import WORLD, KeyCheck, Vendor, VendorError, json_response
from streams.simulator.world import DAY, Person, World, day_start, iso, token


@dataclass(frozen=True)
class Model:
    """A Claude model and its list prices in cents per million tokens."""

    id: str
    display: str
    input_cents: int
    output_cents: int
    long_context: bool
    popularity: float


@dataclass(frozen=True)
class Width:
    """A report bucket width and its documented page limits."""

    seconds: int
    default_limit: int
    max_limit: int


MODELS = (
    Model("claude-opus-4-5-20251101", "Claude Opus 4.5", 500, 2500, False, 0.20),
    Model("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", 300, 1500, True, 0.35),
    Model("claude-haiku-4-5-20251001", "Claude Haiku 4.5", 100, 500, False, 0.20),
    Model("claude-opus-4-1-20250805", "Claude Opus 4.1", 1500, 7500, False, 0.05),
    Model("claude-sonnet-4-20250514", "Claude Sonnet 4", 300, 1500, True, 0.12),
    Model("claude-3-5-haiku-20241022", "Claude Haiku 3.5", 80, 400, False, 0.08),
)
MODEL_BY_ID = {model.id: model for model in MODELS}
SERVICE_TIERS = ("standard", "batch", "priority")
CONTEXT_WINDOWS = ("0-200k", "200k-1M")
WIDTHS = {"1d": Width(DAY, 7, 31), "1h": Width(3600, 24, 168), "1m": Width(60, 60, 1440)}
DIMENSIONS = ("api_key_id", "workspace_id", "model", "service_tier", "context_window")
NEWER_DIMENSIONS = ("inference_geo", "account_id", "service_account_id")
FILTERS = {
    "api_key_ids[]": "api_key_id", "workspace_ids[]": "workspace_id", "models[]": "model",
    "service_tiers[]": "service_tier", "context_window[]": "context_window",
}
COST_DIMENSIONS = ("workspace_id", "description")
TOKEN_TYPES = (
    "uncached_input_tokens", "cache_creation.ephemeral_1h_input_tokens",
    "cache_creation.ephemeral_5m_input_tokens", "cache_read_input_tokens", "output_tokens",
)
REPORTING_DELAY = 300
"""Usage shows up in reports about five minutes after it happened."""
CLAUDE_CODE_DELAY = 3600
"""The Claude Code report only returns data older than one hour."""
DUPLICATE_KEY_NAME = "ci-bot"
"""Two API keys carry this name on purpose: attribution by key name is ambiguous."""

_TOKEN_LABELS = {
    "uncached_input_tokens": ("Input Tokens", Decimal(1), False),
    "cache_creation.ephemeral_1h_input_tokens": ("Input Tokens, Cache Write 1h", Decimal(2), False),
    "cache_creation.ephemeral_5m_input_tokens": ("Input Tokens, Cache Write 5m", Decimal("1.25"), False),
    "cache_read_input_tokens": ("Input Tokens, Cache Read", Decimal("0.1"), False),
    "output_tokens": ("Output Tokens", Decimal(1), True),
}
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 9, 9, 9, 8, 9, 9, 9, 8, 6, 4, 3, 2, 2, 1, 1)
_KEY_PURPOSES = (
    "prod-backend", "staging", "data-pipeline", "eval-harness", "support-bot", "notebooks",
    "search-indexer", "docs-assistant", "sales-copilot", "batch-summaries",
)
_USER_ROLES = ("user", "user", "developer", "developer", "claude_code_user", "billing", "admin")
_TERMINALS = ("vscode", "iTerm.app", "cursor", "tmux", "Apple_Terminal", "ghostty", "jetbrains")
_CODE_MODELS = MODELS[:3]
_TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")
_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 405: "invalid_request_error", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}


class UsageEvent(NamedTuple):
    """One minute of one caller's usage: the finest grain every report width is summed from."""

    ts: int
    api_key_id: str | None
    workspace_id: str | None
    model: str
    service_tier: str
    context_window: str
    inference_geo: str
    account_id: str | None
    service_account_id: str | None
    uncached_input_tokens: int
    ephemeral_1h_input_tokens: int
    ephemeral_5m_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int
    web_search_requests: int


class CostLine(NamedTuple):
    """One day's cost of one workspace for one description, in cents."""

    workspace_id: str | None
    description: str
    cost_type: str
    model: str | None
    token_type: str | None
    service_tier: str | None
    context_window: str | None
    amount: Decimal


@dataclass(frozen=True)
class _Key:
    id: str
    name: str
    workspace_id: str | None
    creator: Person
    created_at: int
    status: str
    retired_on: date | None
    hint: str
    service_account_id: str | None


@dataclass(frozen=True)
class _Caller:
    """An API key or a Console user, with its habits."""

    api_key_id: str | None
    workspace_id: str | None
    account_id: str | None
    service_account_id: str | None
    active_from: date
    active_until: date | None
    activity: float
    models: tuple[str, ...]
    batch_share: float
    priority_share: float
    geo: str
    scale: float

    def active_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_until is None or day < self.active_until)


@dataclass(frozen=True)
class _CodeActor:
    actor: dict[str, str]
    customer_type: str
    terminals: tuple[str, ...]
    activity: float


# --- ground truth: organisation -------------------------------------------------------------


def organization_id(world: World) -> str:
    """The organisation's id, as Claude Code records carry it."""
    return str(uuid.UUID(int=world.rng("anthropic.organization").getrandbits(128), version=4))


def workspace_ids(world: World) -> list[str | None]:
    """Workspace ids; `None` is the default workspace."""
    rng = world.rng("anthropic.workspaces")
    return [None, *(f"wrkspc_01{token(rng, 22)}" for _ in range(world.workspaces - 1))]


def users(world: World) -> list[dict[str, Any]]:
    """Organisation members in id order (former employees are not listed)."""
    return world.memo(("anthropic.users",), lambda: _make_users(world))


def _make_users(world: World) -> list[dict[str, Any]]:
    rows = []
    for person in world.people[: world.users]:
        rng = world.rng("anthropic.user", person.index)
        added = day_start(world.start - timedelta(days=rng.randint(1, 700))) + rng.randrange(DAY)
        rows.append({
            "id": person.user_id, "type": "user", "email": person.email, "name": person.name,
            "role": rng.choice(_USER_ROLES), "added_at": iso(added),
        })
    return sorted(rows, key=lambda row: row["id"])


def api_keys(world: World) -> list[dict[str, Any]]:
    """API keys in id order, with status as of `now`."""
    return world.memo(("anthropic.api_keys",), lambda: [_key_row(key) for key in _keys(world)])


def _key_row(key: _Key) -> dict[str, Any]:
    return {
        "id": key.id, "type": "api_key", "name": key.name, "workspace_id": key.workspace_id,
        "created_at": iso(key.created_at), "created_by": {"id": key.creator.user_id, "type": "user"},
        "partial_key_hint": key.hint, "status": key.status,
    }


def _keys(world: World) -> list[_Key]:
    return world.memo(("anthropic.keys",), lambda: _make_keys(world))


def _make_keys(world: World) -> list[_Key]:
    rng = world.rng("anthropic.keys")
    workspaces = workspace_ids(world)
    members, former = world.people[: world.users], world.people[world.users:]
    names: set[str] = set()
    keys = []
    for index in range(world.api_keys):
        creator = rng.choice(former) if rng.random() < 0.05 else rng.choice(members)
        name = _key_name(rng, index, creator, names)
        names.add(name)
        created_day = (world.start - timedelta(days=rng.randint(5, 400)) if rng.random() < 0.85
                       else world.start + timedelta(days=rng.randrange(world.days)))
        status = rng.choices(("active", "inactive", "archived"), (84, 8, 8))[0]
        retired_on = created_day + timedelta(days=rng.randint(10, 120)) if status != "active" else None
        if retired_on is not None and retired_on > world.last_day:
            status, retired_on = "active", None
        keys.append(_Key(
            id=f"apikey_01{token(rng, 22)}", name=name,
            workspace_id=rng.choices(workspaces, [3] + [2] * (len(workspaces) - 1))[0],
            creator=creator, created_at=day_start(created_day) + rng.randrange(DAY), status=status,
            retired_on=retired_on, hint=f"sk-ant-api03-{token(rng, 3)}...{token(rng, 4)}",
            service_account_id=f"svcacct_01{token(rng, 22)}" if rng.random() < 0.05 else None,
        ))
    return sorted(keys, key=lambda key: key.id)


def _key_name(rng: random.Random, index: int, creator: Person, taken: set[str]) -> str:
    if index < 2:
        return DUPLICATE_KEY_NAME
    if rng.random() < 0.35:
        name = f"{creator.name.split()[0].lower()}-laptop"
    else:
        name = f"{rng.choice(_KEY_PURPOSES)}-{rng.choice(('prod', 'staging', 'dev'))}"
    return name if name not in taken else f"{name}-{index}"


def _callers(world: World) -> list[_Caller]:
    return world.memo(("anthropic.callers",), lambda: _make_callers(world))


def _make_callers(world: World) -> list[_Caller]:
    callers = []
    for key in _keys(world):
        rng = world.rng("anthropic.caller", key.id)
        # A key is used from the day after its creation, so no usage predates its `created_at`.
        created = datetime.fromtimestamp(key.created_at, UTC).date() + timedelta(days=1)
        callers.append(_caller(rng, key.id, key.workspace_id, None, key.service_account_id, created,
                               key.retired_on))
    workspaces = workspace_ids(world)
    for number, person in enumerate(world.people[:3]):
        rng = world.rng("anthropic.console", person.index)
        workspace = workspaces[1] if number == 2 and len(workspaces) > 1 else None
        callers.append(_caller(rng, None, workspace, person.user_id, None, world.start, None))
    return callers


def _caller(rng: random.Random, key_id: str | None, workspace_id: str | None, account_id: str | None,
            service_account_id: str | None, active_from: date, active_until: date | None) -> _Caller:
    models: list[str] = []
    for _ in range(rng.randint(1, 3)):
        model = rng.choices(MODELS, [model.popularity for model in MODELS])[0].id
        if model not in models:
            models.append(model)
    return _Caller(
        api_key_id=key_id, workspace_id=workspace_id, account_id=account_id,
        service_account_id=service_account_id, active_from=active_from, active_until=active_until,
        activity=rng.uniform(0.2, 0.95), models=tuple(models),
        batch_share=0.25 if rng.random() < 0.2 else 0.02,
        priority_share=0.15 if rng.random() < 0.1 else 0.0,
        geo="us" if rng.random() < 0.15 else "global", scale=rng.lognormvariate(0, 0.6),
    )


# --- ground truth: usage --------------------------------------------------------------------


def usage_events(world: World, day: date) -> list[UsageEvent]:
    """A day's reported usage at the current revision, oldest first."""
    revision = world.effective_revision(day)
    return world.memo(("anthropic.events", day, revision), lambda: _visible_events(world, day, revision))


def _visible_events(world: World, day: date, revision: int) -> list[UsageEvent]:
    events = _base_events(world, day)
    if revision:
        events = _restated_events(world, day, revision, events)
    cutoff = world.now_ts - REPORTING_DELAY
    return [event for event in events if event.ts < cutoff]


def _base_events(world: World, day: date) -> list[UsageEvent]:
    return world.memo(("anthropic.base_events", day), lambda: _make_events(world, day))


def _make_events(world: World, day: date) -> list[UsageEvent]:
    weekend = day.weekday() >= 5
    midnight = day_start(day)
    events = []
    for index, caller in enumerate(_callers(world)):
        if not caller.active_on(day):
            continue
        rng = world.rng("anthropic.usage", day, index)
        if rng.random() > caller.activity * (0.3 if weekend else 1.0):
            continue
        for hour in sorted(set(rng.choices(range(24), _HOUR_WEIGHTS, k=rng.randint(1, 8)))):
            for minute in sorted(rng.sample(range(60), rng.randint(1, 3))):
                events.append(_event(rng, caller, midnight + hour * 3600 + minute * 60))
    events.sort(key=lambda event: event.ts)
    return events


def _event(rng: random.Random, caller: _Caller, ts: int) -> UsageEvent:
    model = rng.choice(caller.models)
    draw = rng.random()
    tier = ("batch" if draw < caller.batch_share
            else "priority" if draw < caller.batch_share + caller.priority_share else "standard")
    long_context = MODEL_BY_ID[model].long_context and rng.random() < 0.06
    uncached = int(caller.scale * rng.lognormvariate(9.0, 1.0))
    if long_context:
        uncached += 200_000 + rng.randrange(300_000)
    return UsageEvent(
        ts=ts, api_key_id=caller.api_key_id, workspace_id=caller.workspace_id, model=model,
        service_tier=tier, context_window=CONTEXT_WINDOWS[long_context], inference_geo=caller.geo,
        account_id=caller.account_id, service_account_id=caller.service_account_id,
        uncached_input_tokens=uncached,
        ephemeral_1h_input_tokens=int(uncached * rng.random() * 0.5) if rng.random() < 0.1 else 0,
        ephemeral_5m_input_tokens=int(uncached * rng.random()) if rng.random() < 0.3 else 0,
        cache_read_input_tokens=int(uncached * rng.random() * 4) if rng.random() < 0.6 else 0,
        output_tokens=int(caller.scale * rng.lognormvariate(7.0, 0.9)),
        web_search_requests=rng.randint(1, 5) if rng.random() < 0.05 else 0,
    )


def _restated_events(world: World, day: date, revision: int, events: list[UsageEvent]) -> list[UsageEvent]:
    rng = world.rng("anthropic.restate", day, revision)
    restated = []
    for event in events:
        factor = rng.uniform(0.85, 1.15)
        restated.append(event._replace(
            uncached_input_tokens=int(event.uncached_input_tokens * factor),
            cache_read_input_tokens=int(event.cache_read_input_tokens * factor),
            output_tokens=int(event.output_tokens * factor) + 1,
        ))
    return restated


def events_between(world: World, start_ts: int, end_ts: int) -> Iterable[UsageEvent]:
    """Reported usage with `start_ts <= ts < end_ts`, oldest first."""
    first = max(datetime.fromtimestamp(start_ts, UTC).date(), world.start)
    last = min(datetime.fromtimestamp(end_ts - 1, UTC).date(), world.last_day)
    day = first
    while day <= last:
        events = usage_events(world, day)
        low = bisect.bisect_left(events, start_ts, key=lambda event: event.ts)
        high = bisect.bisect_left(events, end_ts, key=lambda event: event.ts)
        yield from events[low:high]
        day += timedelta(days=1)


def report_stop(world: World, ending_at: int | None) -> int:
    """Reports end at `ending_at` (exclusive) or at `now`, whichever is earlier."""
    return world.now_ts if ending_at is None else min(ending_at, world.now_ts)


def usage_report(world: World, bucket_width: str, starting_at: int, ending_at: int | None = None,
                 group_by: Iterable[str] = (), filters: Mapping[str, Iterable[str]] | None = None,
                 ) -> list[dict[str, Any]]:
    """Every bucket of the messages usage report from `starting_at` (floored to the width).

    Buckets start before `ending_at` and before `now`; idle buckets have empty results; each
    result sums the usage of one combination of the `group_by` dimensions (others are null).
    """
    step = WIDTHS[bucket_width].seconds
    dims = tuple(dim for dim in (*DIMENSIONS, *NEWER_DIMENSIONS) if dim in set(group_by))
    wanted = {dim: set(values) for dim, values in (filters or {}).items()}
    starts = range(starting_at - starting_at % step, report_stop(world, ending_at), step)
    if not starts:
        return []
    sums: dict[int, dict[tuple[Any, ...], list[int]]] = {start: {} for start in starts}
    for event in events_between(world, starts[0], starts[-1] + step):
        if any(getattr(event, dim) not in values for dim, values in wanted.items()):
            continue
        key = tuple(getattr(event, dim) for dim in dims)
        totals = sums[event.ts - event.ts % step].setdefault(key, [0] * 6)
        for position, value in enumerate(event[9:]):
            totals[position] += value
    return [
        {"starting_at": iso(start), "ending_at": iso(start + step),
         "results": [_usage_result(dims, key, sums[start][key]) for key in sorted(sums[start], key=_order)]}
        for start in starts
    ]


def _order(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is not None, str(value or "")) for value in key)


def _usage_result(dims: tuple[str, ...], key: tuple[Any, ...], totals: list[int]) -> dict[str, Any]:
    grouped = dict(zip(dims, key, strict=True))
    result: dict[str, Any] = {
        "uncached_input_tokens": totals[0],
        "cache_creation": {"ephemeral_1h_input_tokens": totals[1], "ephemeral_5m_input_tokens": totals[2]},
        "cache_read_input_tokens": totals[3],
        "output_tokens": totals[4],
        "server_tool_use": {"web_search_requests": totals[5]},
    }
    result.update({dim: grouped.get(dim) for dim in DIMENSIONS})
    result.update({dim: grouped[dim] for dim in NEWER_DIMENSIONS if dim in grouped})
    return result


# --- ground truth: cost ---------------------------------------------------------------------


def cost_lines(world: World, day: date) -> list[CostLine]:
    """A day's costs per workspace and description (priority tier excluded, as the vendor does)."""
    revision = world.effective_revision(day)
    return world.memo(("anthropic.cost", day, revision), lambda: _make_cost_lines(world, day))


def _make_cost_lines(world: World, day: date) -> list[CostLine]:
    tokens: dict[tuple[str | None, str, str, str, str], int] = {}
    searches: dict[str | None, int] = {}
    for event in usage_events(world, day):
        if event.service_tier == "priority":
            continue
        for token_type, count in zip(TOKEN_TYPES, event[9:14], strict=True):
            key = (event.workspace_id, event.model, event.service_tier, event.context_window, token_type)
            tokens[key] = tokens.get(key, 0) + count
        searches[event.workspace_id] = searches.get(event.workspace_id, 0) + event.web_search_requests
    lines = [_token_cost(key, count) for key, count in tokens.items() if count]
    lines += [CostLine(workspace, "Web Search", "web_search", None, None, None, None, Decimal(count))
              for workspace, count in searches.items() if count]
    lines += _tool_costs(world, day)
    return lines


def _token_cost(key: tuple[str | None, str, str, str, str], count: int) -> CostLine:
    workspace, model_id, tier, window, token_type = key
    model = MODEL_BY_ID[model_id]
    label, multiplier, is_output = _TOKEN_LABELS[token_type]
    cents = Decimal(model.output_cents if is_output else model.input_cents) * multiplier
    if window == "200k-1M":
        cents *= Decimal("1.5") if is_output else Decimal(2)
    if tier == "batch":
        cents /= 2
    description = (f"{model.display}{' Batch' if tier == 'batch' else ''}"
                   f"{' Long Context' if window == '200k-1M' else ''} Usage - {label}")
    amount = Decimal(count) * cents / 1_000_000
    return CostLine(workspace, description, "tokens", model_id, token_type, tier, window, amount)


def _tool_costs(world: World, day: date) -> list[CostLine]:
    lines = []
    for workspace in workspace_ids(world):
        rng = world.rng("anthropic.tools", day, workspace)
        if rng.random() < 0.2 and day_start(day) + DAY <= world.now_ts:
            # Code execution bills $0.05 per container hour.
            hours = Decimal(rng.randint(1, 40))
            lines.append(CostLine(workspace, "Code Execution Usage", "code_execution", None, None,
                                  None, None, hours * 5))
        if rng.random() < 0.1 and day_start(day) + DAY <= world.now_ts:
            lines.append(CostLine(workspace, "Session Usage", "session_usage", None, None, None, None,
                                  Decimal(rng.randint(100, 5000)) / 100))
    return lines


def cost_report(world: World, starting_at: int, ending_at: int | None = None,
                group_by: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every daily bucket of the cost report from `starting_at` (floored to the day)."""
    dims = set(group_by)
    starts = range(starting_at - starting_at % DAY, report_stop(world, ending_at), DAY)
    buckets = []
    for start in starts:
        day = datetime.fromtimestamp(start, UTC).date()
        lines = cost_lines(world, day) if world.start <= day <= world.last_day else []
        sums: dict[tuple[Any, ...], Decimal] = {}
        for line in lines:
            key = ((line.workspace_id,) if "workspace_id" in dims else ()) + (
                tuple(line[1:7]) if "description" in dims else ())
            sums[key] = sums.get(key, Decimal(0)) + line.amount
        results = [_cost_result(dims, key, sums[key]) for key in sorted(sums, key=_order)]
        buckets.append({"starting_at": iso(start), "ending_at": iso(start + DAY), "results": results})
    return buckets


def _cost_result(dims: set[str], key: tuple[Any, ...], amount: Decimal) -> dict[str, Any]:
    workspace = key[0] if "workspace_id" in dims else None
    described = key[-6:] if "description" in dims else (None,) * 6
    description, cost_type, model, token_type, tier, window = described
    return {
        "currency": "USD", "amount": format_cents(amount), "workspace_id": workspace,
        "description": description, "cost_type": cost_type, "context_window": window, "model": model,
        "service_tier": tier, "token_type": token_type,
    }


def format_cents(amount: Decimal) -> str:
    """A decimal string in cents without exponent notation, as the vendor sends `amount`."""
    return format(amount.normalize(), "f")


# --- ground truth: Claude Code --------------------------------------------------------------


def claude_code(world: World, day: date) -> list[dict[str, Any]]:
    """A day's Claude Code records older than one hour, in report order."""
    if not world.start <= day <= world.last_day:
        return []
    revision = world.effective_revision(day)
    return world.memo(("anthropic.claude_code", day, revision), lambda: _make_code_rows(world, day, revision))


def _code_actors(world: World) -> list[_CodeActor]:
    return world.memo(("anthropic.code_actors",), lambda: _make_code_actors(world))


def _make_code_actors(world: World) -> list[_CodeActor]:
    rng = world.rng("anthropic.code_actors")
    actors = []
    for person in rng.sample(world.people[: world.users], min(14, world.users)):
        actors.append(_CodeActor(
            {"type": "user_actor", "email_address": person.email},
            "subscription" if rng.random() < 0.7 else "api",
            tuple(rng.sample(_TERMINALS, rng.randint(1, 3))), rng.uniform(0.4, 0.95),
        ))
    named = [key.name for key in _keys(world)][:3]
    for name in dict.fromkeys([DUPLICATE_KEY_NAME, *named]):
        actors.append(_CodeActor({"type": "api_actor", "api_key_name": name}, "api", ("tmux",), 0.6))
    return actors


def _make_code_rows(world: World, day: date, revision: int) -> list[dict[str, Any]]:
    cutoff = world.now_ts - CLAUDE_CODE_DELAY
    rows = []
    for index, actor in enumerate(_code_actors(world)):
        rng = world.rng("anthropic.claude_code", day, index)
        if rng.random() > actor.activity * (0.25 if day.weekday() >= 5 else 1.0):
            continue
        variants = {(terminal, rng.random() < 0.25) for terminal in actor.terminals if rng.random() < 0.8}
        for terminal, remote in sorted(variants):
            scale = world.rng("anthropic.restate_code", day, index, terminal, revision).uniform(0.8, 1.2)
            last_activity, row = _code_row(world, day, rng, actor, terminal, remote, scale if revision else 1)
            if last_activity < cutoff:
                rows.append(row)
    return rows


def _code_row(world: World, day: date, rng: random.Random, actor: _CodeActor, terminal: str, remote: bool,
              scale: float) -> tuple[int, dict[str, Any]]:
    sessions = rng.randint(1, 8)
    added = int(sessions * rng.lognormvariate(4.5, 0.8) * scale)
    commits = rng.randint(0, sessions)
    breakdown = []
    for model in rng.sample(_CODE_MODELS, rng.randint(1, 2)):
        tokens = {"input": int(sessions * rng.randint(2_000, 40_000) * scale),
                  "output": int(sessions * rng.randint(1_000, 20_000) * scale),
                  "cache_read": int(sessions * rng.randint(10_000, 400_000) * scale),
                  "cache_creation": int(sessions * rng.randint(1_000, 50_000) * scale)}
        cents = (tokens["input"] * model.input_cents + tokens["output"] * model.output_cents
                 + tokens["cache_read"] * model.input_cents * 0.1
                 + tokens["cache_creation"] * model.input_cents * 1.25) / 1_000_000
        breakdown.append({"model": model.id, "tokens": tokens,
                          "estimated_cost": {"currency": "USD", "amount": round(cents, 2)}})
    row = {
        "date": day.isoformat(), "actor": actor.actor, "organization_id": organization_id(world),
        "customer_type": actor.customer_type, "terminal_type": terminal, "is_remote": remote,
        "core_metrics": {
            "num_sessions": sessions,
            "lines_of_code": {"added": added, "removed": int(added * rng.uniform(0.05, 0.6))},
            "commits_by_claude_code": commits,
            "pull_requests_by_claude_code": rng.randint(0, commits),
        },
        "tool_actions": {tool: {"accepted": rng.randint(0, 12 * sessions), "rejected": rng.randint(0, sessions)}
                         for tool in _TOOLS},
        "model_breakdown": breakdown,
    }
    return day_start(day) + rng.randint(7 * 3600, DAY - 1), row


# --- requests -------------------------------------------------------------------------------


def _authenticate(request: web.Request, accepts: KeyCheck) -> None:
    key = request.headers.get("x-api-key")
    if not key or not accepts(key):
        raise VendorError(401, "invalid x-api-key")
    if "anthropic-version" not in request.headers:
        raise VendorError(400, "anthropic-version: header is required")


def _error_body(error: VendorError, request_id: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(error.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}, "request_id": request_id}


async def _continues(request: web.Request) -> bool:
    return "page" in request.query


def _window(query: MultiMapping[str]) -> tuple[int, int | None]:
    if "starting_at" not in query:
        raise bad_request("starting_at: field required")
    start = time_value(query["starting_at"], "starting_at")
    end = time_value(query["ending_at"], "ending_at") if "ending_at" in query else None
    if end is not None and end <= start:
        raise bad_request("ending_at must be after starting_at")
    return start, end


def _group_by(query: MultiMapping[str], allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = query.getall("group_by[]", []) + query.getall("group_by", [])
    for value in values:
        if value not in allowed:
            raise bad_request(f"group_by: unsupported value {value!r}; expected one of {', '.join(allowed)}")
    return tuple(dict.fromkeys(values))


def _width(query: MultiMapping[str], allowed: tuple[str, ...]) -> str:
    width = query.get("bucket_width", "1d")
    if width not in allowed:
        raise bad_request(f"bucket_width must be one of {', '.join(allowed)} (got {width!r})")
    return width


def _bucket_page(world: World, query: MultiMapping[str], width: str, start: int, end: int | None,
                 build: Callable[[int, int], list[dict[str, Any]]]) -> dict[str, Any]:
    spec = WIDTHS[width]
    limit = int_param(query, "limit", spec.default_limit, 1, spec.max_limit)
    first = start - start % spec.seconds
    if "page" in query:
        first = int_value(decode_token("page_", query["page"], "page").get("starting_at"), "page", 0)
    next_start = first + limit * spec.seconds
    stop = report_stop(world, end)
    has_more = next_start < stop
    return {
        "data": build(first, min(next_start, stop)) if first < stop else [],
        "has_more": has_more,
        "next_page": encode_token("page_", {"starting_at": next_start}) if has_more else None,
    }


def _id_page(rows: list[dict[str, Any]], query: MultiMapping[str]) -> dict[str, Any]:
    limit = int_param(query, "limit", 20, 1, 1000)
    after = query.get("after_id")
    position = 0 if after is None else bisect.bisect_right([row["id"] for row in rows], after)
    page = rows[position: position + limit]
    return {
        "data": page, "has_more": position + limit < len(rows),
        "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None,
    }


# --- routes ---------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/v1/organizations/usage_report/messages")
async def _messages(request: web.Request) -> web.Response:
    world, query = request.app[WORLD], request.query
    width = _width(query, tuple(WIDTHS))
    start, end = _window(query)
    group_by = _group_by(query, DIMENSIONS + NEWER_DIMENSIONS)
    filters = {dim: query.getall(name) for name, dim in FILTERS.items() if name in query}
    return json_response(_bucket_page(
        world, query, width, start, end,
        lambda first, stop: usage_report(world, width, first, stop, group_by, filters),
    ))


@routes.get("/v1/organizations/cost_report")
async def _cost(request: web.Request) -> web.Response:
    world, query = request.app[WORLD], request.query
    width = _width(query, ("1d",))
    start, end = _window(query)
    group_by = _group_by(query, COST_DIMENSIONS)
    return json_response(_bucket_page(
        world, query, width, start, end, lambda first, stop: cost_report(world, first, stop, group_by),
    ))


@routes.get("/v1/organizations/usage_report/claude_code")
async def _claude_code(request: web.Request) -> web.Response:
    world, query = request.app[WORLD], request.query
    if "starting_at" not in query:
        raise bad_request("starting_at: field required")
    day = date_value(query["starting_at"], "starting_at")
    limit = int_param(query, "limit", 20, 1, 1000)
    offset = 0
    if "page" in query:
        cursor = decode_token("page_", query["page"], "page")
        if cursor.get("date") != day.isoformat():
            raise bad_request("page does not belong to this starting_at")
        offset = int_value(cursor.get("offset"), "page", 0)
    rows = claude_code(world, day)
    has_more = offset + limit < len(rows)
    return json_response({
        "data": rows[offset: offset + limit], "has_more": has_more,
        "next_page": encode_token("page_", {"date": day.isoformat(), "offset": offset + limit}) if has_more else None,
    })


@routes.get("/v1/organizations/api_keys")
async def _api_keys(request: web.Request) -> web.Response:
    query = request.query
    rows = api_keys(request.app[WORLD])
    if "status" in query:
        if query["status"] not in ("active", "inactive", "archived"):
            raise bad_request("status must be one of active, inactive, archived")
        rows = [row for row in rows if row["status"] == query["status"]]
    if "workspace_id" in query:
        rows = [row for row in rows if row["workspace_id"] == query["workspace_id"]]
    return json_response(_id_page(rows, query))


@routes.get("/v1/organizations/users")
async def _users(request: web.Request) -> web.Response:
    query = request.query
    rows = users(request.app[WORLD])
    if "email" in query:
        rows = [row for row in rows if row["email"] == query["email"].lower()]
    return json_response(_id_page(rows, query))


VENDOR = Vendor(
    name="anthropic", prefixes=("/v1/organizations/",), routes=routes, authenticate=_authenticate,
    error_body=_error_body, continues=_continues,
)
