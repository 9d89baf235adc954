"""The funnel and helpdesk APIs of the simulator over real HTTP: pages, ground truth, quirks, revisions."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from streams.simulator import World, build_app, funnel, helpdesk, serve_in_thread, stripe
from streams.simulator.feed import FeedApi

from tests.streams.simulator_client import NOW, START, base_url, client, make_world, world  # noqa: F401
APIS = {"funnel": funnel.API, "helpdesk": helpdesk.API}
RESOURCES = [(api, resource) for api, spec in APIS.items() for resource in spec.resources]




def pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row of a cursor-paged feed."""
    rows: list[dict[str, Any]] = []
    cursor: dict[str, str] = {}
    while True:
        response = client.get(path, params={**params, **cursor})
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        if body["next_cursor"] is None:
            return rows
        cursor = {"cursor": body["next_cursor"]}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


# --- pagination -----------------------------------------------------------------------------


@pytest.mark.parametrize(("api", "resource"), RESOURCES)
def test_pages_cover_the_ground_truth(client: httpx.Client, world: World, api: str, resource: str) -> None:
    spec: FeedApi = APIS[api]
    truth = spec.feed(world, resource).since(None)
    path = f"/v1/{api}/{resource}"
    assert truth and pages(client, path, {"limit": 1000}) == truth
    if len(truth) > 50:
        assert pages(client, path, {"limit": 97}) == truth
    since = truth[len(truth) // 2][spec.resources[resource].time_field]
    recent = spec.feed(world, resource).since(epoch(since))
    assert recent and pages(client, path, {"limit": 50, "updated_since": since}) == recent
    assert all(row[spec.resources[resource].time_field] >= since for row in recent)


def test_same_seed_serves_the_same_bytes() -> None:
    def fetch(seed: int) -> list[bytes]:
        with serve_in_thread(build_app(make_world(seed))) as url, httpx.Client(base_url=url) as http:
            return [http.get(f"/v1/{api}/{resource}", params={"limit": 200}).content for api, resource in RESOURCES]

    first, again, other = fetch(5), fetch(5), fetch(6)
    assert first == again
    seeded = [index for index, (_, resource) in enumerate(RESOURCES) if resource not in ("funnels", "products")]
    assert all(first[index] != other[index] for index in seeded)


def test_bad_requests_answer_in_the_project_shape(client: httpx.Client) -> None:
    missing = client.get("/v1/funnel/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert "sessions" in missing.json()["error"]["message"]
    assert client.get("/v1/helpdesk/tickets", params={"cursor": "cur_bad"}).status_code == 400
    too_many = client.get("/v1/helpdesk/logins", params={"limit": 1001})
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "invalid_request"
    assert client.get("/v1/funnel/sessions", params={"updated_since": "yesterday"}).status_code == 400


# --- funnel ---------------------------------------------------------------------------------


def test_subscriptions_are_paid_by_stripe_charges(world: World) -> None:
    charges = {charge["id"]: charge for charge in stripe.charges(world)}
    rows = funnel.subscriptions(world)
    assert {row["psp_id"] for row in rows} <= charges.keys()
    assert len({row["psp_id"] for row in rows}) == len(rows)
    for row in rows:
        assert row["sandbox"] is (not charges[row["psp_id"]]["livemode"])
        assert epoch(row["created_at"]) <= charges[row["psp_id"]]["created"]
    attempts = Counter(row["id"] for row in rows)
    retried = [row for row in rows if attempts[row["id"]] > 1]
    assert retried and {charges[row["psp_id"]]["status"] for row in retried} >= {"failed", "succeeded"}
    assert any(row["sandbox"] for row in rows)
    assert "jpy" in {charges[row["psp_id"]]["currency"] for row in rows}
    assert {row["status"] for row in rows} >= {"active", "canceled"}


def test_each_subscriber_has_a_session_before_paying_in_a_country_of_the_currency(world: World) -> None:
    charges = {charge["id"]: charge for charge in stripe.charges(world)}
    sessions: dict[str, list[dict[str, Any]]] = {}
    for session in funnel.sessions(world):
        sessions.setdefault(session["profile_id"], []).append(session)
    for row in funnel.subscriptions(world):
        before = [s for s in sessions[row["profile_id"]] if s["created_at"] <= row["created_at"]]
        assert before, row
        converting = max(before, key=lambda session: session["created_at"])
        assert converting["country"] in funnel.CURRENCY_COUNTRIES[charges[row["psp_id"]]["currency"]]
        assert converting["funnel_id"] in funnel.FUNNELS
    assert len(sessions) > len({row["profile_id"] for row in funnel.subscriptions(world)})


def test_product_events_name_users_by_id_email_or_device(world: World) -> None:
    sessions = funnel.sessions(world)
    profiles = {session["profile_id"] for session in sessions}
    emails = {session["email"] for session in sessions if session["email"]}
    devices = {session["device_id"] for session in sessions if session["device_id"]}
    events = funnel.product_events(world)
    by_id = [event for event in events if event["user_id"] in profiles]
    by_email = [event for event in events if event["user_id"] is None and event["email"]]
    by_device = [event for event in events if event["user_id"] is None and not event["email"]]
    strangers = [event for event in events if event["user_id"] and event["user_id"] not in profiles]
    assert by_id and by_email and by_device and strangers
    assert {event["email"].lower() for event in by_email} <= emails
    assert any(event["email"] not in emails for event in by_email)
    assert {event["device_id"] for event in by_device} <= devices
    assert all(epoch(event["time"]) < world.now_ts for event in events)


def test_advancing_cancels_only_recent_subscriptions(client: httpx.Client, world: World) -> None:
    before = {(row["id"], row["psp_id"]): row for row in pages(client, "/v1/funnel/subscriptions", {"limit": 1000})}
    state = client.post("/_sim/advance").json()
    after = pages(client, "/v1/funnel/subscriptions", {"limit": 1000})
    changed = [row for row in after if row != before[(row["id"], row["psp_id"])]]
    assert changed
    revised = datetime.fromtimestamp(world.revised_at(1), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for row in changed:
        assert row["status"] == "canceled" and row["updated_at"] == revised
        assert row["created_at"][:10] in state["restated_days"]
    assert after[-len(changed):] == sorted(changed, key=lambda row: (row["id"], row["psp_id"]))


# --- helpdesk -------------------------------------------------------------------------------


def test_tickets_are_typed_by_people(world: World) -> None:
    tickets = helpdesk.tickets(world)
    assert {ticket["status"].strip().lower() for ticket in tickets} == {"open", "pending", "resolved", "closed"}
    assert any(ticket["category"] != ticket["category"].strip().lower() for ticket in tickets)
    assert any(ticket["root_cause"] is None for ticket in tickets)
    assert any(ticket["app_version"].startswith("v") for ticket in tickets)
    assert 0 in {ticket["satisfaction_score"] for ticket in tickets}
    open_tickets = [ticket for ticket in tickets if ticket["resolved_at"] is None]
    assert open_tickets and all(ticket["satisfaction_score"] is None for ticket in open_tickets)
    assert {ticket["customer_id"] for ticket in tickets} <= {row["id"] for row in helpdesk.customers(world)}
    assert {ticket["product_id"] for ticket in tickets} <= {row["id"] for row in helpdesk.products(world)}


def test_the_regression_release_concentrates_crashes(world: World) -> None:
    technical = [ticket for ticket in helpdesk.tickets(world) if ticket["category"].strip().lower() == "technical"]
    version, cause = helpdesk.REGRESSION

    def crash_share(tickets: list[dict[str, Any]]) -> float:
        return sum(1 for ticket in tickets if ticket["root_cause"] == cause) / len(tickets)

    on_regression = [ticket for ticket in technical if ticket["app_version"].lstrip("v") == version]
    elsewhere = [ticket for ticket in technical if ticket["app_version"].lstrip("v") != version]
    assert on_regression and crash_share(on_regression) > 2 * crash_share(elsewhere)


def test_churned_customers_stop_logging_in(world: World) -> None:
    last_login: dict[str, str] = {}
    for login in helpdesk.logins(world):
        last_login[login["customer_id"]] = max(login["at"], last_login.get(login["customer_id"], ""))
    churn_days = {customer.id: customer.churn_day for customer in helpdesk._customers(world)
                  if customer.churn_day is not None and customer.churn_day > START}
    assert churn_days
    for customer_id, churn_day in churn_days.items():
        assert customer_id not in last_login or last_login[customer_id][:10] < churn_day.isoformat()


def test_advancing_resolves_only_recent_open_tickets(client: httpx.Client, world: World) -> None:
    before = {row["id"]: row for row in pages(client, "/v1/helpdesk/tickets", {"limit": 1000})}
    state = client.post("/_sim/advance").json()
    after = pages(client, "/v1/helpdesk/tickets", {"limit": 1000})
    changed = [row for row in after if row != before[row["id"]]]
    assert changed
    for row in changed:
        assert before[row["id"]]["resolved_at"] is None
        assert row["status"] == "resolved" and row["resolved_at"] == row["updated_at"]
        assert row["created_at"][:10] in state["restated_days"]
