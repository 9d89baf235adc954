"""Product usage API (defined by this project): usage rows, catalogs and the price book.

Ground truth (pure functions of the world): `usage`, `catalog`, `pricebook`. Usage references
codes the catalogs only publish from revision `late_catalog_revision` on, and one customer
code (`UNKNOWN_CUSTOMER`) no catalog ever publishes. Each revision restates rows of the recent
days with a newer `updated_at`, sometimes closing (retiring) a row.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from streams.simulator.params import bad_request, decode_token, encode_token, int_param, time_value
from streams.simulator.vendor import WORLD, Vendor, VendorError, json_response, no_auth
from streams.simulator.world import DAY, World, day_start, iso

CATALOGS = ("customers", "products", "plans", "countries", "currencies")
PRODUCTS = {
    # code: (name, category, unit, typical daily units, default unit price)
    "API-CALLS": ("API calls", "platform", "call", 40_000, 0.0004),
    "STORAGE-GB": ("Storage", "infrastructure", "GB-day", 300, 0.023),
    "COMPUTE-HRS": ("Compute hours", "infrastructure", "hour", 60, 0.35),
    "SEATS": ("Seats", "licenses", "seat", 25, 12.0),
    "SUPPORT-HRS": ("Premium support", "services", "hour", 2, 95.0),
    "EGRESS-GB": ("Data egress", "infrastructure", "GB", 40, 0.09),
}
PLANS = {"FREE": ("Free", 0, 0.1), "STARTER": ("Starter", 1, 0.5), "PRO": ("Pro", 2, 1.0),
         "ENTERPRISE": ("Enterprise", 3, 3.0)}
COUNTRIES = {
    "US": ("United States", "AMER"), "CA": ("Canada", "AMER"), "BR": ("Brazil", "AMER"),
    "GB": ("United Kingdom", "EMEA"), "DE": ("Germany", "EMEA"), "FR": ("France", "EMEA"),
    "NL": ("Netherlands", "EMEA"), "JP": ("Japan", "APAC"), "AU": ("Australia", "APAC"), "IN": ("India", "APAC"),
}
CURRENCIES = {"USD": ("US Dollar", 2), "EUR": ("Euro", 2), "GBP": ("Pound Sterling", 2), "JPY": ("Yen", 0),
              "CAD": ("Canadian Dollar", 2)}
LATE_PRODUCT = ("VECTOR-QUERIES", ("Vector queries", "platform", "1k queries", 500, 0.25))
LATE_PLAN = ("SCALE", ("Scale", 2, 1.5))
LATE_COUNTRY = ("SG", ("Singapore", "APAC"))
LATE_CUSTOMERS = 3
UNKNOWN_CUSTOMER = "CUST-0999"
"""Referenced by usage, published by no catalog: the dimension must complete it."""
_SEGMENTS = ("SMB", "SMB", "MID", "MID", "ENT")
_NAME_PARTS = (("Blue", "North", "Bright", "Iron", "Silver", "Quantum", "Green", "Swift", "Polar", "Atlas"),
               ("Labs", "Systems", "Foods", "Logistics", "Health", "Media", "Robotics", "Energy", "Bank", "Works"))


@dataclass(frozen=True)
class _Customer:
    code: str
    name: str
    segment: str
    country: str
    products: tuple[str, ...]
    plans: tuple[tuple[date, str], ...]
    """(from day, plan code), oldest first: an upgrade changes the plan code of later rows."""
    active_from: date
    active_until: date | None
    late: bool
    scale: float

    def plan_on(self, day: date) -> str:
        return [plan for since, plan in self.plans if since <= day][-1]

    def active_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_until is None or day < self.active_until)


# --- ground truth: catalogs -----------------------------------------------------------------


def _customers(world: World) -> list[_Customer]:
    return world.memo(("product.customers",), lambda: _make_customers(world))


def _make_customers(world: World) -> list[_Customer]:
    rng = world.rng("product.customers")
    customers = []
    total = world.customers + LATE_CUSTOMERS
    for number in range(1, total + 2):
        late, unknown = number > world.customers, number == total + 1
        code = UNKNOWN_CUSTOMER if unknown else f"CUST-{number:04d}"
        products = tuple(sorted(rng.sample(sorted(PRODUCTS), rng.randint(2, 4))))
        if number == 1:
            products += (LATE_PRODUCT[0],)
        plan = rng.choice(sorted(PLANS))
        plans: tuple[tuple[date, str], ...] = ((date.min, plan),)
        if late and number == world.customers + 1:
            plans = ((date.min, LATE_PLAN[0]),)
        elif rng.random() < 0.15 and plan != "ENTERPRISE":
            plans += ((world.start + timedelta(days=rng.randrange(world.days)), "ENTERPRISE"),)
        active_from = (world.start + timedelta(days=world.days // 3 + rng.randrange(max(1, world.days // 3)))
                       if late or unknown else world.start - timedelta(days=rng.randint(1, 400)))
        churned = not late and rng.random() < 0.08
        customers.append(_Customer(
            code=code, name=f"{rng.choice(_NAME_PARTS[0])} {rng.choice(_NAME_PARTS[1])}",
            segment=rng.choice(_SEGMENTS),
            country=LATE_COUNTRY[0] if late and number == total else rng.choice(sorted(COUNTRIES)),
            products=products, plans=plans, active_from=active_from,
            active_until=world.start + timedelta(days=rng.randrange(world.days)) if churned else None,
            late=late, scale=rng.lognormvariate(0, 0.6),
        ))
    return customers


def _published_at(world: World, late: bool) -> str | None:
    """`updated_at` of a catalog row, or None while a late row is not yet published."""
    if not late:
        return iso(day_start(world.start - timedelta(days=30)))
    if world.revision < world.late_catalog_revision:
        return None
    return iso(world.revised_at(world.late_catalog_revision))


def catalog(world: World, name: str) -> list[dict[str, Any]]:
    """The rows a catalog publishes at the current revision, by code."""
    rows = [{**row, "updated_at": published} for late, row in _catalog_rows(world, name)
            if (published := _published_at(world, late)) is not None]
    return sorted(rows, key=lambda row: row["code"])


def _catalog_rows(world: World, name: str) -> list[tuple[bool, dict[str, Any]]]:
    if name == "customers":
        return [(customer.late, {"code": customer.code, "name": customer.name, "segment": customer.segment,
                                 "country_code": customer.country})
                for customer in _customers(world) if customer.code != UNKNOWN_CUSTOMER]
    if name == "products":
        products = [(False, code, spec) for code, spec in PRODUCTS.items()] + [(True, *LATE_PRODUCT)]
        return [(late, {"code": code, "name": spec[0], "category": spec[1], "unit": spec[2]})
                for late, code, spec in products]
    if name == "plans":
        plans = [(False, code, spec) for code, spec in PLANS.items()] + [(True, *LATE_PLAN)]
        return [(late, {"code": code, "name": spec[0], "tier": spec[1]}) for late, code, spec in plans]
    if name == "countries":
        countries = [(False, code, spec) for code, spec in COUNTRIES.items()] + [(True, *LATE_COUNTRY)]
        return [(late, {"code": code, "name": spec[0], "region": spec[1]}) for late, code, spec in countries]
    return [(False, {"code": code, "name": spec[0], "minor_units": spec[1]}) for code, spec in CURRENCIES.items()]


def pricebook(world: World) -> list[dict[str, Any]]:
    """Effective-dated prices per (product, plan or null for the default), at the current revision."""
    old = world.start - timedelta(days=365)
    rows = [_price(code, None, old, spec[4], "EUR" if code == "SUPPORT-HRS" else "USD")
            for code, spec in PRODUCTS.items()]
    # The default billing currency applies where the price book names none.
    rows[-1]["currency_code"] = None
    rows += [_price(code, "ENTERPRISE", old, PRODUCTS[code][4] * 0.8, "USD")
             for code in ("API-CALLS", "COMPUTE-HRS", "SEATS")]
    rows.append(_price("API-CALLS", None, world.start + timedelta(days=world.days // 2), 0.0005, "USD"))
    if world.revision >= 1:
        first_restated = world.last_day - timedelta(days=max(world.restated_days - 1, 0))
        rows.append(_price("STORAGE-GB", "PRO", first_restated, 0.02, "USD"))
    if world.revision >= world.late_catalog_revision:
        rows.append(_price(LATE_PRODUCT[0], None, world.start, LATE_PRODUCT[1][4], "USD"))
    return sorted(rows, key=lambda row: (row["product_code"], row["plan_code"] or "", row["effective_date"]))


def _price(product: str, plan: str | None, effective: date, unit_price: float, currency: str | None,
           ) -> dict[str, Any]:
    return {"product_code": product, "plan_code": plan, "effective_date": effective.isoformat(),
            "unit_price": round(unit_price, 6), "currency_code": currency}


# --- ground truth: usage --------------------------------------------------------------------


def _typical_units(product: str) -> int:
    return PRODUCTS[product][3] if product in PRODUCTS else LATE_PRODUCT[1][3]


def _included(plan: str, product: str) -> int:
    allowance = PLANS[plan][2] if plan in PLANS else LATE_PLAN[1][2]
    return int(_typical_units(product) * allowance)


def _day_rows(world: World, day: date, revision: int) -> list[dict[str, Any]]:
    """A day's rows at `revision`: each revision restates on top of the previous one."""
    if revision == 0:
        return world.memo(("product.usage", day, 0), lambda: _make_day_rows(world, day))
    return world.memo(("product.usage", day, revision),
                      lambda: _restate(world, day, revision, _day_rows(world, day, revision - 1)))


def _make_day_rows(world: World, day: date) -> list[dict[str, Any]]:
    rows = []
    for customer in _customers(world):
        if not customer.active_on(day):
            continue
        rng = world.rng("product.usage", day, customer.code)
        plan = customer.plan_on(day)
        for product in customer.products:
            rows.append({
                "customer_code": customer.code, "product_code": product, "plan_code": plan,
                "country_code": customer.country, "report_date": day.isoformat(),
                "units_used": int(_typical_units(product) * customer.scale * rng.lognormvariate(0, 0.4)),
                "included_units": _included(plan, product),
                "status": "CLOSED" if rng.random() < 0.015 else "OPEN",
                "updated_at": iso(_updated_at(world, day, rng)),
            })
    return rows


def _updated_at(world: World, day: date, rng: random.Random) -> int:
    # Rows settle a few hours after their day; today's (and late-settling) rows were updated just now.
    settled = day_start(day) + DAY + rng.randint(3600, 6 * 3600)
    if settled < world.now_ts:
        return settled
    return max(day_start(day), world.now_ts - rng.randint(60, 1800))


def _restate(world: World, day: date, revision: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = world.rng("product.restate", day, revision)
    revised = iso(world.revised_at(revision))
    restated = []
    for row in rows:
        draw = rng.random()
        if row["status"] == "CLOSED" or draw >= 0.4:
            restated.append(row)
        elif draw < 0.03:
            restated.append({**row, "status": "CLOSED", "updated_at": revised})
        else:
            restated.append({**row, "units_used": int(row["units_used"] * rng.uniform(0.9, 1.2)) + 1,
                             "updated_at": revised})
    return restated


def _sort_key(row: dict[str, Any]) -> tuple[str, str, str, str, str]:
    return (row["updated_at"], row["customer_code"], row["product_code"], row["plan_code"], row["report_date"])


def _sorted_usage(world: World) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str, str]]]:
    def build() -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str, str]]]:
        rows = sorted((row for day in world.dates() for row in _day_rows(world, day, world.effective_revision(day))),
                      key=_sort_key)
        return rows, [_sort_key(row) for row in rows]
    return world.memo(("product.sorted_usage", world.revision), build)


def usage(world: World, updated_since: int | None = None) -> list[dict[str, Any]]:
    """Current usage rows with `updated_at >= updated_since`, by (updated_at, natural key)."""
    rows, keys = _sorted_usage(world)
    return rows[_first_since(keys, updated_since):]


def _first_since(keys: list[tuple[str, str, str, str, str]], updated_since: int | None) -> int:
    return 0 if updated_since is None else bisect.bisect_left(keys, (iso(updated_since),))


# --- requests -------------------------------------------------------------------------------


def _error_body(error: VendorError, request_id: str) -> dict[str, Any]:
    codes = {400: "invalid_request", 401: "unauthorized", 404: "not_found", 429: "rate_limited",
             500: "internal_error", 529: "overloaded"}
    return {"error": {"code": error.code or codes.get(error.status, "error"), "message": error.message},
            "request_id": request_id}


async def _continues(request: web.Request) -> bool:
    return "cursor" in request.query


# --- routes ---------------------------------------------------------------------------------

routes = web.RouteTableDef()


@routes.get("/v1/usage")
async def _usage_route(request: web.Request) -> web.Response:
    world, query = request.app[WORLD], request.query
    since = time_value(query["updated_since"], "updated_since") if "updated_since" in query else None
    limit = int_param(query, "limit", 500, 1, 1000)
    rows, keys = _sorted_usage(world)
    first = _first_since(keys, since)
    if "cursor" in query:
        after = decode_token("cur_", query["cursor"], "cursor").get("after")
        if not isinstance(after, list) or len(after) != 5 or not all(isinstance(part, str) for part in after):
            raise bad_request("invalid cursor token")
        first = max(first, bisect.bisect_right(keys, tuple(after)))
    page = rows[first: first + limit]
    more = first + limit < len(rows)
    return json_response({
        "data": page, "next_cursor": encode_token("cur_", {"after": list(_sort_key(page[-1]))}) if more else None,
    })


@routes.get("/v1/catalog/{name}")
async def _catalog_route(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in CATALOGS:
        raise VendorError(404, f"no catalog {name!r}; expected one of {', '.join(CATALOGS)}")
    return json_response({"data": catalog(request.app[WORLD], name)})


@routes.get("/v1/pricebook")
async def _pricebook_route(request: web.Request) -> web.Response:
    return json_response({"data": pricebook(request.app[WORLD])})


VENDOR = Vendor(
    name="product", prefixes=("/v1/usage", "/v1/catalog/", "/v1/pricebook"), routes=routes,
    authenticate=no_auth, error_body=_error_body, continues=_continues,
)
