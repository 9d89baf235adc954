"""The simulator's HTTP server: every vendor's routes on one app, plus `/_sim/` admin endpoints.

Admin endpoints: `GET /_sim/state`, `POST /_sim/advance` (`{"revisions": n}`, restates recent
days), `POST /_sim/reset` (revision 0, the starting fault plan, empty stats), `GET|POST
/_sim/faults` (the `FaultPlan` JSON form; POST replaces the plan) and `GET /_sim/stats`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiohttp.typedefs import Handler

from streams.simulator import anthropic, cursor, funnel, helpdesk, product, stripe
from streams.simulator.faults import FaultConfigError, FaultPlan, inject
from streams.simulator.vendor import WORLD, KeyCheck, Vendor, VendorError, dumps, json_response
from streams.simulator.world import World, iso
from usagemart.processes import BackgroundService, free_port

logger = logging.getLogger(__name__)

VENDORS: tuple[Vendor, ...] = (anthropic.VENDOR, cursor.VENDOR, stripe.VENDOR, product.VENDOR, funnel.VENDOR,
                               helpdesk.VENDOR)
RECENT_REQUESTS = 200


@dataclass
class RequestLog:
    """What was asked of the simulator, for tests and benchmarks to count."""

    total: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_fault: Counter[str] = field(default_factory=Counter)
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_REQUESTS))

    def record(self, request: web.Request, status: int, fault: str | None) -> None:
        """Count one vendor request."""
        self.total += 1
        self.by_path[request.path] += 1
        self.by_status[str(status)] += 1
        if fault is not None:
            self.by_fault[fault] += 1
        self.recent.append({"method": request.method, "path": request.path, "query": request.query_string,
                            "status": status, "fault": fault})

    def to_json(self) -> dict[str, Any]:
        """Counts per path, status and fault, and the most recent requests."""
        return {"total": self.total, "by_path": dict(self.by_path), "by_status": dict(self.by_status),
                "by_fault": dict(self.by_fault), "recent": list(self.recent)}


@dataclass
class Simulator:
    """The mutable state behind one app: the world, the fault plan, the request log."""

    world: World
    faults: FaultPlan
    keys: Mapping[str, str]
    accept_any_key: bool
    starting_faults: list[dict[str, Any]]
    log: RequestLog = field(default_factory=RequestLog)
    last_pages: dict[str, bytes] = field(default_factory=dict)

    def accepts(self, vendor: str) -> KeyCheck:
        """The credential check for one vendor."""
        if self.accept_any_key:
            return lambda key: True
        expected = self.keys.get(vendor)
        return lambda key: expected is not None and key == expected

    def request_id(self) -> str:
        """A request id that repeats with the seed and the request's position."""
        digest = hashlib.sha256(f"{self.world.seed}:{self.log.total}".encode()).hexdigest()
        return f"req_{digest[:24]}"

    def reset(self) -> None:
        """Revision 0, the starting fault plan, an empty log."""
        self.world.reset()
        self.faults = FaultPlan.from_json(self.starting_faults, self.world.seed)
        self.log = RequestLog()
        self.last_pages.clear()

    def state(self) -> dict[str, Any]:
        """What `GET /_sim/state` shows."""
        world = self.world
        return {
            "seed": world.seed, "start": world.start.isoformat(), "days": world.days, "now": iso(world.now_ts),
            "revision": world.revision,
            "restated_days": [day.isoformat() for day in world.dates() if world.restated(day)],
            "late_catalog_revision": world.late_catalog_revision, "accept_any_key": self.accept_any_key,
            "faults": self.faults.to_json(),
        }


SIMULATOR = web.AppKey("simulator", Simulator)


def _error_response(vendor: Vendor, error: VendorError, request_id: str) -> web.Response:
    headers = {**error.headers, "request-id": request_id}
    return json_response(vendor.error_body(error, request_id), status=error.status, headers=headers)


@web.middleware
async def _vendor_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    vendor = next((vendor for vendor in VENDORS if vendor.serves(request.path)), None)
    if vendor is None:
        return await handler(request)
    simulator = request.app[SIMULATOR]
    request_id = simulator.request_id()

    def fail(status: int, message: str, headers: dict[str, str]) -> web.Response:
        return _error_response(vendor, VendorError(status, message, None, headers), request_id)

    rule = None
    try:
        vendor.authenticate(request, simulator.accepts(vendor.name))
        continues = await vendor.continues(request)
        rule = simulator.faults.pick(request.method, request.path, continues)
        if rule is None:
            response = await handler(request)
        else:
            response = await inject(rule, lambda: handler(request), fail, simulator.last_pages.get(request.path))
    except VendorError as error:
        response = _error_response(vendor, error, request_id)
    except web.HTTPException as error:
        response = _error_response(vendor, VendorError(error.status, error.reason), request_id)
    response.headers.setdefault("request-id", request_id)
    if rule is None and response.status == 200 and isinstance(response, web.Response) \
            and isinstance(response.body, bytes):
        simulator.last_pages[request.path] = response.body
    simulator.log.record(request, response.status, rule.fault if rule else None)
    return response


# --- admin ----------------------------------------------------------------------------------

admin = web.RouteTableDef()


async def _json_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    try:
        return await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(text=dumps({"error": "body must be JSON"}), content_type="application/json") from None


@admin.get("/_sim/state")
async def _state(request: web.Request) -> web.Response:
    return json_response(request.app[SIMULATOR].state())


@admin.post("/_sim/advance")
async def _advance(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    body = await _json_body(request)
    revisions = body.get("revisions", 1) if isinstance(body, dict) else 1
    if not isinstance(revisions, int) or revisions < 1:
        return json_response({"error": "revisions must be a positive integer"}, status=400)
    simulator.world.advance(revisions)
    logger.info("simulator advanced to revision %d", simulator.world.revision)
    return json_response(simulator.state())


@admin.post("/_sim/reset")
async def _reset(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    simulator.reset()
    return json_response(simulator.state())


@admin.get("/_sim/faults")
async def _get_faults(request: web.Request) -> web.Response:
    return json_response(request.app[SIMULATOR].faults.to_json())


@admin.post("/_sim/faults")
async def _set_faults(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    try:
        simulator.faults = FaultPlan.from_json(await _json_body(request), simulator.world.seed)
    except FaultConfigError as error:
        return json_response({"error": str(error)}, status=400)
    simulator.last_pages.clear()
    return json_response(simulator.faults.to_json())


@admin.get("/_sim/stats")
async def _stats(request: web.Request) -> web.Response:
    return json_response(request.app[SIMULATOR].log.to_json())


# --- building and running -------------------------------------------------------------------


def build_app(world: World, faults: FaultPlan | list[dict[str, Any]] | None = None, *,
              keys: Mapping[str, str] | None = None, accept_any_key: bool = True) -> web.Application:
    """The simulator app over `world`.

    `keys` maps a vendor name (`anthropic`, `cursor`, `stripe`) to the only credential it
    accepts when `accept_any_key` is False; otherwise any non-empty credential passes.
    """
    plan = faults if isinstance(faults, FaultPlan) else FaultPlan.from_json(faults or [], world.seed)
    app = web.Application(middlewares=[_vendor_middleware])
    app[WORLD] = world
    app[SIMULATOR] = Simulator(world, plan, dict(keys or {}), accept_any_key,
                               [{k: v for k, v in rule.to_json().items() if k not in ("seen", "fired")}
                                for rule in plan.rules])
    for vendor in VENDORS:
        app.add_routes(vendor.routes)
    app.add_routes(admin)
    return app


def generate_all(world: World) -> dict[str, int]:
    """Materialize every source's rows over the whole world; returns row counts per source."""
    until_ms = world.now_ts * 1000
    return {
        "anthropic.usage_events": sum(len(anthropic.usage_events(world, day)) for day in world.dates()),
        "anthropic.cost_lines": sum(len(anthropic.cost_lines(world, day)) for day in world.dates()),
        "anthropic.claude_code": sum(len(anthropic.claude_code(world, day)) for day in world.dates()),
        "anthropic.api_keys": len(anthropic.api_keys(world)),
        "anthropic.users": len(anthropic.users(world)),
        "cursor.members": len(cursor.members(world)),
        "cursor.daily_usage": len(cursor.daily_usage(world, 0, until_ms)),
        "cursor.usage_events": len(cursor.usage_events(world, 0, until_ms)),
        "cursor.spend": len(cursor.spend(world)),
        "stripe.charges": len(stripe.charges(world)),
        "stripe.events": len(stripe.events(world)),
        "product.usage": len(product.usage(world)),
        "product.catalogs": sum(len(product.catalog(world, name)) for name in product.CATALOGS),
        "product.pricebook": len(product.pricebook(world)),
        **{f"funnel.{name}": len(funnel.API.feed(world, name).rows) for name in funnel.API.resources},
        **{f"helpdesk.{name}": len(helpdesk.API.feed(world, name).rows) for name in helpdesk.API.resources},
    }


def run_simulator(host: str = "127.0.0.1", port: int = 8765, seed: int = 7, *, days: int = 90,
                  now: datetime | None = None, faults: FaultPlan | list[dict[str, Any]] | None = None,
                  keys: Mapping[str, str] | None = None, accept_any_key: bool = True) -> None:
    """Serve the simulator until interrupted; the world ends now unless `now` is given."""
    world = World.ending_now(seed, days, now)
    counts = generate_all(world)
    logger.info("simulator world seed=%d %s..%s now=%s: %s", seed, world.start, world.last_day,
                world.now, counts)
    logger.info("simulator serving on http://%s:%d", host, port)
    web.run_app(build_app(world, faults, keys=keys, accept_any_key=accept_any_key), host=host, port=port,
                handler_cancellation=True, print=None, shutdown_timeout=1.0)


@contextmanager
def serve_in_thread(app: web.Application, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free loopback port from a background thread; yields the base URL."""
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    started = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, host, port).start())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, name=f"simulator-{port}", daemon=True)
    thread.start()
    started.wait()
    if failure:
        raise failure[0]
    try:
        yield f"http://{host}:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def simulator_service(run_dir: Path, port: int, seed: int) -> BackgroundService:
    """`python -m streams.simulator` as a detached local service, ready when `/_sim/state` answers."""
    url = f"http://127.0.0.1:{port}/_sim/state"

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    return BackgroundService(
        name="simulator", run_dir=run_dir, ready=ready,
        command=[sys.executable, "-m", "streams.simulator", "--host", "127.0.0.1", "--port", str(port),
                 "--seed", str(seed)],
    )
