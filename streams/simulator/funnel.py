"""Funnel API (defined by this project): web-funnel sessions, subscriptions, funnels, product events.

Ground truth (pure functions of the world): `sessions`, `subscriptions`, `funnels`,
`product_events`, each oldest change first. Subscriptions are paid by the Stripe charges of
their day (`stripe.charges`): a subscription's rows are its charge attempts, keyed
(id, psp_id) -- a failed first charge is retried with a later charge of the day in the same
currency -- and it is a sandbox subscription when the charge is a test-mode one. A subscriber's
converting session starts minutes to hours before the first charge, in a country that pays in
the charge's currency; some subscribers visited a funnel days earlier too. Product events name
the user by `user_id` (the profile id), or only by an email (written in any case) or a device
id, and some belong to no known profile. Each revision cancels some subscriptions of the recent
days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from streams.simulator import stripe
from streams.simulator.feed import FeedApi, Resource
from streams.simulator.world import DAY, World, day_start, iso

FUNNELS = {"fnl_quiz": "Personality quiz", "fnl_trial": "7-day free trial", "fnl_offer": "Spring offer",
           "fnl_webinar": "Webinar sign-up"}
ORIGINS = ("facebook", "google", "tiktok", "instagram", "organic", "email", "referral")
CITIES = {"US": ("New York", "Austin", "Seattle"), "GB": ("London", "Manchester"), "DE": ("Berlin", "Munich"),
          "FR": ("Paris", "Lyon"), "JP": ("Tokyo", "Osaka"), "CA": ("Toronto", "Vancouver"),
          "BR": ("Sao Paulo",), "IN": ("Bangalore",)}
CURRENCY_COUNTRIES = {"usd": ("US",), "eur": ("DE", "FR"), "gbp": ("GB",), "jpy": ("JP",), "cad": ("CA",)}
EVENT_TYPES = ("app_open", "onboarding_completed", "feature_used", "paywall_viewed", "settings_changed")
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.jp", "proton.me")
SUBSCRIBED_SHARE = 0.5
"""Share of a day's charges that are a new subscription's first attempt."""
VISITORS = (40, 80)
"""Sessions a day that do not convert (a range)."""
STRANGER_EVENTS = (2, 6)
"""Product events a day from users no session knows (a range)."""


@dataclass(frozen=True)
class _Person:
    profile_id: str
    email: str | None
    device_id: str | None


@dataclass(frozen=True)
class _Day:
    sessions: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    """At revision 0."""
    events: list[dict[str, Any]]


# --- ground truth ---------------------------------------------------------------------------


def _charges_by_day(world: World) -> dict[date, list[dict[str, Any]]]:
    def build() -> dict[date, list[dict[str, Any]]]:
        days: dict[date, list[dict[str, Any]]] = {}
        for charge in sorted(stripe.charges(world), key=lambda charge: (charge["created"], charge["id"])):
            days.setdefault(datetime.fromtimestamp(charge["created"], UTC).date(), []).append(charge)
        return days
    return world.memo(("funnel.charges_by_day",), build)


def _day(world: World, day: date) -> _Day:
    return world.memo(("funnel.day", day), lambda: _make_day(world, day))


def _make_day(world: World, day: date) -> _Day:
    rng = world.rng("funnel.day", day)
    sessions: list[dict[str, Any]] = []
    subscriptions: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    charges = _charges_by_day(world).get(day, [])
    used: set[str] = set()
    for index, charge in enumerate(charges):
        if charge["id"] in used or rng.random() >= SUBSCRIBED_SHARE:
            continue
        attempts = [charge, *_retry(charge, charges[index + 1:], used)]
        used.update(attempt["id"] for attempt in attempts)
        person = _person(rng)
        rows = _subscription_rows(world, rng, day, person, attempts)
        subscriptions += rows
        converting = _session(world, rng, person, _time(rows[0]["created_at"]) - rng.randint(120, 6 * 3600),
                              rng.choice(CURRENCY_COUNTRIES[charge["currency"]]))
        sessions.append(converting)
        if rng.random() < 0.3:
            sessions += _earlier_visit(world, rng, person, converting)
        events += _subscriber_events(world, rng, person, converting, _time(rows[0]["created_at"]))
    for _ in range(rng.randint(*VISITORS)):
        started = day_start(day) + rng.randrange(DAY)
        if started < world.now_ts:
            person = _person(rng)
            sessions.append(_session(world, rng, person, started, rng.choice(sorted(CITIES))))
            events += _visitor_events(world, rng, person, started)
    events += _stranger_events(world, rng, day)
    unique_events = {_event_key(event): event for event in events}
    return _Day(sessions, subscriptions, list(unique_events.values()))


def _retry(failed: dict[str, Any], later: list[dict[str, Any]], used: set[str]) -> list[dict[str, Any]]:
    if failed["status"] != "failed":
        return []
    retry = next((charge for charge in later if charge["id"] not in used and charge["status"] != "failed"
                  and charge["currency"] == failed["currency"]), None)
    return [] if retry is None else [retry]


def _id(rng: random.Random, prefix: str) -> str:
    # One draw per id (not one per character): a day holds thousands of them.
    return f"{prefix}{rng.getrandbits(64):016x}"


def _person(rng: random.Random) -> _Person:
    email = f"{_id(rng, 'user.')}@{rng.choice(EMAIL_DOMAINS)}" if rng.random() < 0.85 else None
    device_id = _id(rng, "dev_") if rng.random() < 0.9 else None
    return _Person(_id(rng, "prf_"), email, device_id)


def _subscription_rows(world: World, rng: random.Random, day: date, person: _Person,
                       attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    subscription_id = _id(rng, "sub_")
    paid = any(attempt["status"] == "succeeded" for attempt in attempts)
    created = [max(day_start(day), attempt["created"] - rng.randint(5, 90)) for attempt in attempts]
    canceled_at = created[0] + rng.randint(2 * DAY, 40 * DAY) if paid and rng.random() < 0.12 else 0
    if canceled_at >= world.now_ts:
        canceled_at = 0
    status = "canceled" if canceled_at else "active" if paid else "incomplete"
    return [{
        "id": subscription_id, "profile_id": person.profile_id, "psp_id": attempt["id"],
        "sandbox": not attempt["livemode"], "created_at": iso(at), "status": status,
        "updated_at": iso(canceled_at or at),
    } for attempt, at in zip(attempts, created, strict=True)]


def _session(world: World, rng: random.Random, person: _Person, started: int, country: str) -> dict[str, Any]:
    started = max(started, day_start(world.start))
    return {
        "id": _id(rng, "ses_"), "profile_id": person.profile_id, "funnel_id": rng.choice(sorted(FUNNELS)),
        "created_at": iso(started), "country": country, "city": rng.choice(CITIES[country]),
        "origin": rng.choice(ORIGINS), "email": person.email, "device_id": person.device_id,
        "updated_at": iso(min(started + rng.randint(300, 3600), world.now_ts)),
    }


def _earlier_visit(world: World, rng: random.Random, person: _Person,
                   converting: dict[str, Any]) -> list[dict[str, Any]]:
    started = _time(converting["created_at"]) - rng.randint(DAY, 10 * DAY)
    if started < day_start(world.start):
        return []
    anonymous = _Person(person.profile_id, None, person.device_id)
    return [_session(world, rng, anonymous, started, converting["country"])]


def _subscriber_events(world: World, rng: random.Random, person: _Person, session: dict[str, Any],
                       subscribed: int) -> list[dict[str, Any]]:
    started = _time(session["created_at"])
    events = [_event(person, "paywall_viewed", started + rng.randint(30, 600), rng, "device")]
    for _ in range(rng.randint(2, 8)):
        events.append(_event(person, rng.choice(EVENT_TYPES), subscribed + rng.randint(60, 14 * DAY), rng,
                             rng.choices(("user", "email", "device"), (60, 25, 15))[0]))
    return [event for event in events if _time(event["time"]) < world.now_ts]


def _visitor_events(world: World, rng: random.Random, person: _Person, started: int) -> list[dict[str, Any]]:
    if rng.random() >= 0.3:
        return []
    events = [_event(person, "app_open", started + rng.randint(60, DAY), rng, "device")
              for _ in range(rng.randint(1, 2))]
    return [event for event in events if _time(event["time"]) < world.now_ts]


def _stranger_events(world: World, rng: random.Random, day: date) -> list[dict[str, Any]]:
    events = []
    for _ in range(rng.randint(*STRANGER_EVENTS)):
        stranger = _Person(_id(rng, "usr_"), None, None)
        events.append(_event(stranger, rng.choice(EVENT_TYPES), day_start(day) + rng.randrange(DAY), rng, "user"))
    return [event for event in events if _time(event["time"]) < world.now_ts]


def _event(person: _Person, event_type: str, at: int, rng: random.Random, known_by: str) -> dict[str, Any]:
    """An event naming `person` by `known_by` (user id, email, device id), or by what they have."""
    if known_by == "email" and person.email:
        # Apps send the email as typed; funnels store it lowercased.
        email = person.email.capitalize() if rng.random() < 0.5 else person.email
        return {"user_id": None, "email": email, "device_id": None, "event_type": event_type, "time": iso(at)}
    if known_by == "device" and person.device_id:
        return {"user_id": None, "email": None, "device_id": person.device_id, "event_type": event_type,
                "time": iso(at)}
    return {"user_id": person.profile_id, "email": person.email if rng.random() < 0.5 else None,
            "device_id": person.device_id, "event_type": event_type, "time": iso(at)}


def _event_key(event: dict[str, Any]) -> tuple[str | None, ...]:
    return event["time"], event["event_type"], event["user_id"], event["email"], event["device_id"]


def _time(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _day_subscriptions(world: World, day: date, revision: int) -> list[dict[str, Any]]:
    """A day's subscription rows at `revision`: each revision cancels on top of the previous one."""
    if revision == 0:
        return _day(world, day).subscriptions
    return world.memo(("funnel.subscriptions", day, revision),
                      lambda: _cancel(world, day, revision, _day_subscriptions(world, day, revision - 1)))


def _cancel(world: World, day: date, revision: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = world.rng("funnel.cancel", day, revision)
    active = sorted({row["id"] for row in rows if row["status"] == "active"})
    canceled = {subscription_id for subscription_id in active if rng.random() < 0.25}
    revised = iso(world.revised_at(revision))
    return [{**row, "status": "canceled", "updated_at": revised} if row["id"] in canceled else row for row in rows]


def _funnel_rows(world: World) -> list[dict[str, Any]]:
    published = iso(day_start(world.start))
    return [{"id": funnel_id, "title": title, "updated_at": published} for funnel_id, title in FUNNELS.items()]


def _all_sessions(world: World) -> list[dict[str, Any]]:
    return [row for day in world.dates() for row in _day(world, day).sessions]


def _all_subscriptions(world: World) -> list[dict[str, Any]]:
    return [row for day in world.dates() for row in _day_subscriptions(world, day, world.effective_revision(day))]


def _all_product_events(world: World) -> list[dict[str, Any]]:
    return [row for day in world.dates() for row in _day(world, day).events]


API = FeedApi("funnel", {
    "sessions": Resource("updated_at", ("id",), _all_sessions),
    "subscriptions": Resource("updated_at", ("id", "psp_id"), _all_subscriptions),
    "funnels": Resource("updated_at", ("id",), _funnel_rows),
    "product_events": Resource("time", ("event_type", "user_id", "email", "device_id"), _all_product_events),
})


def sessions(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Sessions updated since `updated_since` (epoch s; None for all), oldest update first."""
    return API.feed(world, "sessions").since(updated_since)


def subscriptions(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Subscription charge attempts updated since `updated_since`, oldest update first."""
    return API.feed(world, "subscriptions").since(updated_since)


def funnels(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Funnels updated since `updated_since`."""
    return API.feed(world, "funnels").since(updated_since)


def product_events(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Product events at or after `updated_since`, oldest first."""
    return API.feed(world, "product_events").since(updated_since)


# --- routes ---------------------------------------------------------------------------------

VENDOR = API.vendor()
