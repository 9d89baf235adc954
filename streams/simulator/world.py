"""The simulated organisation: the seeded, deterministic world every vendor module draws from.

Rows are pure functions of (seed, configuration, revision). Each entity and each day has its
own `random.Random` seeded by name, so a day's rows never depend on how many other days exist,
and a vendor module memoizes what it generated on the world (`World.memo`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

T = TypeVar("T")

DAY = 86_400
ORG_DOMAIN = "acme-robotics.com"
_FIRST_NAMES = (
    "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Luca", "Maya", "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe",
)
_LAST_NAMES = (
    "Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Sato", "Tanaka",
    "Urban", "Varga", "Weber", "Yilmaz", "Zhang",
)
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def iso(ts: int) -> str:
    """RFC 3339 UTC timestamp with a `Z` suffix, from epoch seconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(day: date) -> int:
    """Epoch seconds of midnight UTC starting `day`."""
    return int(datetime.combine(day, time(), UTC).timestamp())


def token(rng: random.Random, length: int) -> str:
    """A random base62 identifier body, as vendors put after their `ch_`/`apikey_` prefixes."""
    return "".join(rng.choices(_ID_ALPHABET, k=length))


@dataclass(frozen=True)
class Person:
    """Someone in the organisation; each vendor sees its own subset of people."""

    index: int
    user_id: str
    name: str
    email: str


@dataclass
class World:
    """A seeded organisation over `days` days from `start`, seen at the instant `now`."""

    seed: int = 7
    """Seed of every generator."""
    start: date = date(2026, 1, 1)
    """First day with data (UTC)."""
    days: int = 90
    """Number of days with data."""
    now: datetime | None = None
    """The simulated present (tz-aware): nothing later is served. Default: midnight after the last day."""
    users: int = 40
    """Anthropic organisation members (two more former employees only created API keys)."""
    api_keys: int = 60
    """Anthropic API keys, spread over the workspaces."""
    workspaces: int = 5
    """Anthropic workspaces, including the default workspace (null id)."""
    cursor_members: int = 30
    """Cursor team members, a few of them removed."""
    customers: int = 24
    """Product usage customers published in the catalog from the start."""
    restated_days: int = 3
    """How many of the most recent days each revision restates."""
    late_catalog_revision: int = 2
    """Revision from which catalogs publish the codes usage already references."""
    revision: int = 0
    """Bumped by `advance()`: each bump restates the recent days."""
    now_ts: int = field(init=False)
    """`now` in epoch seconds."""
    _memo: dict[Hashable, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.days < 1 or self.restated_days < 0:
            raise ValueError("days must be >= 1 and restated_days >= 0")
        if self.now is None:
            self.now = datetime.combine(self.end, time(), UTC)
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.now_ts = int(self.now.timestamp())

    @classmethod
    def ending_now(cls, seed: int, days: int = 90, now: datetime | None = None, **options: Any) -> World:
        """A world whose last day is the day of `now` (default: the current minute), as the demo serves."""
        now = now or datetime.now(UTC).replace(second=0, microsecond=0)
        return cls(seed=seed, start=now.date() - timedelta(days=days - 1), days=days, now=now, **options)

    @property
    def end(self) -> date:
        """The day after the last day with data."""
        return self.start + timedelta(days=self.days)

    @property
    def last_day(self) -> date:
        """The most recent day that has (possibly partial) data at `now`."""
        return min(datetime.fromtimestamp(self.now_ts - 1, UTC).date(), self.end - timedelta(days=1))

    def dates(self) -> list[date]:
        """Every day with data up to `now`, oldest first."""
        count = (self.last_day - self.start).days + 1
        return [self.start + timedelta(days=offset) for offset in range(max(count, 0))]

    def rng(self, *parts: object) -> random.Random:
        """The generator for one named thing (an entity, a day, a revision), independent of all others."""
        return random.Random(":".join(str(part) for part in (self.seed, *parts)))

    @property
    def people(self) -> list[Person]:
        """The organisation's people: `users` members, then two former employees."""
        return self.memo(("people",), self._make_people)

    def _make_people(self) -> list[Person]:
        rng = self.rng("people")
        people: list[Person] = []
        emails: set[str] = set()
        for index in range(self.users + 2):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            email = f"{first}.{last}@{ORG_DOMAIN}".lower()
            if email in emails:
                email = f"{first}.{last}{index}@{ORG_DOMAIN}".lower()
            emails.add(email)
            people.append(Person(index, f"user_01{token(rng, 22)}", f"{first} {last}", email))
        return people

    def restated(self, day: date) -> bool:
        """True when `day` is one of the recent days that each revision restates."""
        return 0 <= (self.last_day - day).days < self.restated_days

    def effective_revision(self, day: date) -> int:
        """The revision a day's rows are generated at: the current one for recent days, else 0."""
        return self.revision if self.restated(day) else 0

    def revised_at(self, revision: int) -> int:
        """When a revision was published (epoch s): one simulated minute after `now` per revision.

        `now` stays fixed so that the data visible at revision 0 never move; restated rows still
        need an `updated_at` newer than anything a poller has already seen.
        """
        return self.now_ts + 60 * revision

    def advance(self, revisions: int = 1) -> int:
        """Publish `revisions` new revisions (restating the recent days); return the revision."""
        if revisions < 1:
            raise ValueError("revisions must be >= 1")
        self.revision += revisions
        return self.revision

    def reset(self) -> None:
        """Back to revision 0 (memoized rows of every revision stay valid)."""
        self.revision = 0

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value cached under `key`, built once. Keys must include every input (day, revision)."""
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._memo[key] = build()
            return value
