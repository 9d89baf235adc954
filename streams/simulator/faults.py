"""Faults on demand: rules that turn some vendor requests into errors, delays or bad bodies.

A rule matches a path glob (and optionally a method) and fires on every Nth matching request
or with a seeded probability, at most `times` times. The first rule that fires wins. JSON form
(what `POST /_sim/faults` takes and `GET /_sim/state` shows):

    {"rules": [{"fault": "rate_limit", "path": "/v1/organizations/*", "every": 3,
                "retry_after": 2, "times": 5}]}
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from aiohttp import web

FAULTS = {
    # fault: (status it answers with, or None for a 200 that misbehaves; default delay in seconds)
    "rate_limit": (429, 0.0),
    "rate_limit_no_retry_after": (429, 0.0),
    "server_error": (500, 0.0),
    "overloaded": (529, 0.0),
    "slow": (None, 2.0),
    "timeout": (None, 30.0),
    "truncated": (None, 0.0),
    "repeat_page": (None, 0.0),  # serves again the last 200 body of the same path, to a follow-up page
}
_MESSAGES = {429: "Rate limited (simulated)", 500: "Internal server error (simulated)",
             529: "Overloaded (simulated)"}


class FaultConfigError(ValueError):
    """A fault rule in the JSON form is invalid; the message says which field."""


@dataclass
class FaultRule:
    """When and how to misbehave on matching requests."""

    fault: str
    """One of `FAULTS`."""
    path: str = "*"
    """Glob over the request path (`*` also crosses `/`)."""
    method: str | None = None
    """Only this HTTP method; None for any."""
    every: int | None = None
    """Fire on the Nth, 2Nth, … matching request (default 1 when `probability` is unset)."""
    probability: float | None = None
    """Fire with this seeded probability instead of every Nth."""
    times: int | None = None
    """Fire at most this many times."""
    delay: float | None = None
    """Seconds to wait for `slow` and `timeout` (defaults 2 and 30)."""
    retry_after: int = 1
    """Value of the `retry-after` header of `rate_limit`."""
    seen: int = field(default=0, compare=False)
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise FaultConfigError(f"fault must be one of {', '.join(FAULTS)} (got {self.fault!r})")
        if self.every is not None and self.every < 1:
            raise FaultConfigError("every must be >= 1")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise FaultConfigError("probability must be between 0 and 1")
        if self.every is not None and self.probability is not None:
            raise FaultConfigError("give every or probability, not both")
        if self.times is not None and self.times < 0 or self.delay is not None and self.delay < 0:
            raise FaultConfigError("times and delay must not be negative")

    @classmethod
    def from_json(cls, raw: object) -> FaultRule:
        """A rule from its JSON object."""
        if not isinstance(raw, dict):
            raise FaultConfigError("each rule must be a JSON object")
        known = {"fault", "path", "method", "every", "probability", "times", "delay", "retry_after"}
        unknown = set(raw) - known
        if unknown:
            raise FaultConfigError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        try:
            return cls(**raw)
        except TypeError as error:
            raise FaultConfigError(str(error)) from None

    def to_json(self) -> dict[str, Any]:
        """The rule's JSON object, with how often it matched and fired."""
        return {
            "fault": self.fault, "path": self.path, "method": self.method, "every": self.every,
            "probability": self.probability, "times": self.times, "delay": self.delay,
            "retry_after": self.retry_after, "seen": self.seen, "fired": self.fired,
        }

    def matches(self, method: str, path: str, continues: bool) -> bool:
        """True when the request is one this rule counts (`repeat_page` counts follow-up pages only)."""
        if self.method is not None and self.method.upper() != method:
            return False
        return fnmatchcase(path, self.path) and (self.fault != "repeat_page" or continues)

    def fires(self, rng: random.Random) -> bool:
        """Count a matching request and decide whether this one misbehaves."""
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        hit = rng.random() < self.probability if self.probability is not None else self.seen % (self.every or 1) == 0
        self.fired += hit
        return hit

    @property
    def wait(self) -> float:
        """Seconds to delay the response."""
        return FAULTS[self.fault][1] if self.delay is None else self.delay


class FaultPlan:
    """The active rules, each with its own seeded generator so that runs repeat exactly."""

    def __init__(self, rules: Iterable[FaultRule] = (), seed: int = 0) -> None:
        self.rules = list(rules)
        self.seed = seed
        self._rngs = [random.Random(f"{seed}:fault:{index}") for index in range(len(self.rules))]

    @classmethod
    def from_json(cls, raw: object, seed: int = 0) -> FaultPlan:
        """A plan from `{"rules": [...]}` or a bare list of rules."""
        rules = raw.get("rules", []) if isinstance(raw, dict) else raw
        if not isinstance(rules, list):
            raise FaultConfigError('expected {"rules": [...]} or a list of rules')
        return cls([FaultRule.from_json(rule) for rule in rules], seed)

    def to_json(self) -> dict[str, Any]:
        """The plan's JSON form."""
        return {"rules": [rule.to_json() for rule in self.rules]}

    def pick(self, method: str, path: str, continues: bool) -> FaultRule | None:
        """The first rule that fires for this request, if any."""
        for rule, rng in zip(self.rules, self._rngs, strict=True):
            if rule.matches(method, path, continues) and rule.fires(rng):
                return rule
        return None


Fail = Callable[[int, str, dict[str, str]], web.Response]
"""Renders an error in the vendor's shape: (status, message, headers)."""


async def inject(rule: FaultRule, respond: Callable[[], Awaitable[web.StreamResponse]], fail: Fail,
                 previous_page: bytes | None) -> web.StreamResponse:
    """The response to a request `rule` fired on; `respond()` produces the normal one."""
    status = FAULTS[rule.fault][0]
    if status is not None:
        with_header = rule.fault == "rate_limit"
        return fail(status, _MESSAGES[status], {"retry-after": str(rule.retry_after)} if with_header else {})
    if rule.wait:
        # `timeout` just waits longer than a client would; the server cancels it when the client leaves.
        await asyncio.sleep(rule.wait)
    if rule.fault == "repeat_page" and previous_page is not None:
        return web.Response(body=previous_page, content_type="application/json")
    response = await respond()
    if rule.fault == "truncated" and isinstance(response, web.Response) and isinstance(response.body, bytes):
        body = response.body
        return web.Response(status=200, body=body[: len(body) // 2], content_type="application/json")
    return response
