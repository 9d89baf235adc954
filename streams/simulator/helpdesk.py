"""Helpdesk API (defined by this project): support tickets, customers, products and customer logins.

Ground truth (pure functions of the world): `tickets`, `customers`, `products`, `logins`, each
oldest change first. Tickets are written by people: categories, severities and statuses come in
any case and with stray spaces, some root causes are missing, app versions sometimes carry a
`v`, a few satisfaction scores are out of range. Some customers churn: they stop logging in on
their churn day, and in the two weeks before it they open more tickets, wait longer and rate
lower. Release 2.3.0 brought a crash on launch that 2.3.1 fixed. Each revision resolves some
open tickets of the recent days.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from streams.simulator.feed import FeedApi, Resource
from streams.simulator.world import DAY, World, day_start, iso

CUSTOMERS = 60
SEGMENTS = {"SMB": 1_500.0, "Mid-Market": 9_000.0, "Enterprise": 48_000.0}
"""Segment -> typical customer lifetime value (USD)."""
CITIES = ("Berlin", "London", "New York", "Austin", "Paris", "Toronto", "Tokyo", "Sydney")
PRODUCTS = {
    # id: (name, category, type)
    "PRD-MOBILE": ("Mobile app", "apps", "core"),
    "PRD-WEB": ("Web dashboard", "apps", "core"),
    "PRD-API": ("Public API", "platform", "core"),
    "PRD-SYNC": ("Calendar sync", "integrations", "add-on"),
    "PRD-SLACK": ("Slack integration", "integrations", "add-on"),
    "PRD-BILLING": ("Billing portal", "billing", "core"),
    "PRD-REPORTS": ("Reports", "analytics", "add-on"),
}
ROOT_CAUSES = {
    # category: (share of tickets, its root causes)
    "technical": (45, ("sync_failure", "crash_on_launch", "slow_performance", "api_timeout")),
    "billing": (25, ("double_charge", "failed_payment", "invoice_error")),
    "account": (20, ("password_reset", "sso_misconfiguration")),
    "feature_request": (10, ("missing_feature",)),
}
SEVERITIES = {"low": (40, 48.0), "medium": (35, 24.0), "high": (18, 8.0), "critical": (7, 3.0)}
"""Severity -> (share of tickets, median hours to resolve)."""
CHANNELS = ("email", "chat", "phone", "web")
RELEASES = (("2.1.0", 0.0), ("2.2.0", 0.2), ("2.3.0", 0.45), ("2.3.1", 0.52), ("2.4.0", 0.75))
"""App versions and when each shipped, as a fraction of the world's days."""
REGRESSION = ("2.3.0", "crash_on_launch")
CHURN_WARNING = timedelta(days=14)
"""Before churning, a customer's tickets multiply and their experience worsens."""


@dataclass(frozen=True)
class _Customer:
    id: str
    segment: str
    city: str
    clv: float
    activity: float
    """Chance of logging in on a given day."""
    churn_day: date | None

    def active_on(self, day: date) -> bool:
        return self.churn_day is None or day < self.churn_day

    def churning_on(self, day: date) -> bool:
        return self.churn_day is not None and self.churn_day - CHURN_WARNING <= day < self.churn_day


# --- ground truth ---------------------------------------------------------------------------


def _customers(world: World) -> list[_Customer]:
    return world.memo(("helpdesk.customers",), lambda: _make_customers(world))


def _make_customers(world: World) -> list[_Customer]:
    rng = world.rng("helpdesk.customers")
    customers = []
    for number in range(1, CUSTOMERS + 1):
        segment = rng.choices(list(SEGMENTS), (60, 30, 10))[0]
        churns = rng.random() < 0.2
        customers.append(_Customer(
            id=f"CUS-{number:04d}", segment=segment, city=rng.choice(CITIES),
            clv=round(SEGMENTS[segment] * rng.lognormvariate(0, 0.5), 2), activity=rng.uniform(0.2, 0.9),
            churn_day=world.start + timedelta(days=rng.randrange(world.days)) if churns else None,
        ))
    return customers


def _published(world: World) -> str:
    """When the customer and product lists were published: the world's first instant."""
    return iso(day_start(world.start))


def _customer_rows(world: World) -> list[dict[str, Any]]:
    return [{"id": customer.id, "segment": customer.segment, "city": customer.city, "clv": customer.clv,
             "updated_at": _published(world)} for customer in _customers(world)]


def _product_rows(world: World) -> list[dict[str, Any]]:
    return [{"id": product_id, "name": name, "category": category, "type": kind, "updated_at": _published(world)}
            for product_id, (name, category, kind) in PRODUCTS.items()]


def _day_logins(world: World, day: date) -> list[dict[str, Any]]:
    return world.memo(("helpdesk.logins", day), lambda: _make_day_logins(world, day))


def _make_day_logins(world: World, day: date) -> list[dict[str, Any]]:
    rng = world.rng("helpdesk.logins", day)
    logins: dict[tuple[str, int], dict[str, Any]] = {}
    for customer in _customers(world):
        if not customer.active_on(day) or rng.random() >= customer.activity:
            continue
        for _ in range(rng.randint(1, 3)):
            at = day_start(day) + rng.randrange(DAY)
            if at < world.now_ts:
                logins[(customer.id, at)] = {"customer_id": customer.id, "at": iso(at)}
    return list(logins.values())


def _day_tickets(world: World, day: date, revision: int) -> list[dict[str, Any]]:
    """A day's tickets at `revision`: each revision resolves on top of the previous one."""
    if revision == 0:
        return world.memo(("helpdesk.tickets", day, 0), lambda: _make_day_tickets(world, day))
    return world.memo(("helpdesk.tickets", day, revision),
                      lambda: _resolve(world, day, revision, _day_tickets(world, day, revision - 1)))


def _make_day_tickets(world: World, day: date) -> list[dict[str, Any]]:
    rng = world.rng("helpdesk.tickets", day)
    customers = [customer for customer in _customers(world) if customer.active_on(day)]
    weights = [4 if customer.churning_on(day) else 1 for customer in customers]
    tickets = []
    for number in range(rng.randint(3, 9) if customers else 0):
        created = day_start(day) + rng.randrange(DAY)
        if created < world.now_ts:
            customer = rng.choices(customers, weights)[0]
            tickets.append(_ticket(world, rng, f"TCK-{day:%y%m%d}-{number:02d}", customer, day, created))
    return tickets


def _ticket(world: World, rng: random.Random, ticket_id: str, customer: _Customer, day: date,
            created: int) -> dict[str, Any]:
    category = rng.choices(list(ROOT_CAUSES), [share for share, _ in ROOT_CAUSES.values()])[0]
    version = _version(world, rng, day)
    root_cause = _root_cause(rng, category, version)
    severity = rng.choices(list(SEVERITIES), [share for share, _ in SEVERITIES.values()])[0]
    product_id = rng.choice(sorted(PRODUCTS))
    churning = customer.churning_on(day)
    hours = rng.lognormvariate(math.log(SEVERITIES[severity][1] * (2 if churning else 1)), 0.8)
    resolved = created + int(hours * 3600)
    done = resolved < world.now_ts
    subject = f"{(root_cause or 'problem').replace('_', ' ')} in the {PRODUCTS[product_id][0]}"
    return {
        "id": ticket_id, "customer_id": customer.id, "product_id": product_id, "category": _typed(rng, category),
        "root_cause": root_cause, "severity": _typed(rng, severity), "channel": rng.choice(CHANNELS),
        "status": _typed(rng, ("closed" if resolved + 3 * DAY < world.now_ts else "resolved") if done
                         else rng.choice(("open", "open", "pending"))),
        "created_at": iso(created), "resolved_at": iso(resolved) if done else None,
        "satisfaction_score": _satisfaction(rng, hours, churning) if done else None,
        "app_version": f"v{version}" if rng.random() < 0.2 else version,
        "subject": subject.capitalize() + rng.choice(("", " ", "  ")),
        "updated_at": iso(resolved if done else created),
    }


def _typed(rng: random.Random, value: str) -> str:
    """`value` as a person types it in a helpdesk form."""
    return rng.choices((value, value.upper(), f" {value.title()} "), (80, 10, 10))[0]


def _version(world: World, rng: random.Random, day: date) -> str:
    progress = (day - world.start).days / world.days
    shipped = [version for version, at in RELEASES if at <= progress]
    # A quarter of the users lag one release behind.
    return shipped[-2] if len(shipped) > 1 and rng.random() < 0.25 else shipped[-1]


def _root_cause(rng: random.Random, category: str, version: str) -> str | None:
    if rng.random() < 0.05:
        return None
    if category == "technical" and version == REGRESSION[0] and rng.random() < 0.6:
        return REGRESSION[1]
    return rng.choice(ROOT_CAUSES[category][1])


def _satisfaction(rng: random.Random, hours: float, churning: bool) -> int | None:
    draw = rng.random()
    if draw < 0.3:
        return None
    if draw < 0.32:
        return 0
    score = 5 - (hours > 24) - (hours > 72) - 2 * churning - rng.choice((0, 0, 1))
    return max(1, score)


def _resolve(world: World, day: date, revision: int, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = world.rng("helpdesk.resolve", day, revision)
    revised = iso(world.revised_at(revision))
    return [{**ticket, "status": "resolved", "resolved_at": revised, "updated_at": revised}
            if ticket["resolved_at"] is None and rng.random() < 0.5 else ticket for ticket in tickets]


def _all_tickets(world: World) -> list[dict[str, Any]]:
    return [row for day in world.dates() for row in _day_tickets(world, day, world.effective_revision(day))]


def _all_logins(world: World) -> list[dict[str, Any]]:
    return [row for day in world.dates() for row in _day_logins(world, day)]


API = FeedApi("helpdesk", {
    "tickets": Resource("updated_at", ("id",), _all_tickets),
    "customers": Resource("updated_at", ("id",), _customer_rows),
    "products": Resource("updated_at", ("id",), _product_rows),
    "logins": Resource("at", ("customer_id",), _all_logins),
})


def tickets(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Tickets updated since `updated_since` (epoch s; None for all), oldest update first."""
    return API.feed(world, "tickets").since(updated_since)


def customers(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Customers updated since `updated_since`."""
    return API.feed(world, "customers").since(updated_since)


def products(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Products updated since `updated_since`."""
    return API.feed(world, "products").since(updated_since)


def logins(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Logins at or after `updated_since`, oldest first."""
    return API.feed(world, "logins").since(updated_since)


# --- routes ---------------------------------------------------------------------------------

VENDOR = API.vendor()
