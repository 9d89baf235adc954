"""The AI usage and cost model on hand-built events and reference data, against hand-computed marts.

The scenario (all on 2026-03-01, workspace W1 of the Anthropic API unless said otherwise):
- batch 1: Cursor member alice (direct email); Anthropic users bob and carol; key k1 created by bob
  (attributed by creator, 0.7), key k3 mapped to carol by a sheet (0.9), key k2 known to nobody.
  Each key has 1.00 of estimated cost; the cost report bills W1 10.00 for the day, which is split
  by those estimates in thirds: 3.33 + 3.33 + 3.34 (the largest share, ties by email, takes the
  remainder; the unattributed third stays 'unallocated'). Workspace W2 has a reported 5.00 on
  2026-03-02 and no estimate: wholly unallocated. Alice has a reported Cursor cost of 0.40.
- batch 2 (the late key mapping): k1 gets a manual mapping to dave and a sheet mapping to erin, both
  1.0 (manual wins on precedence); Anthropic also lists alice now (a newer dim_users version).
  Nothing else lands, yet the 2026-03-01 usage and costs of k1 move from bob to dave.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
import pytest

from batch.data_tests import Status
from batch.run_report import Action
from tests.batch.conftest import Mart

pytestmark = pytest.mark.integration

BATCH_1 = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
BATCH_2 = datetime(2026, 3, 4, 6, 0, tzinfo=UTC)
DAY = date(2026, 3, 1)
NEXT_DAY = date(2026, 3, 2)
MODEL = "claude-sonnet-4"
AI_TABLES = ("dim_users", "dim_platforms", "int__ai_attribution", "fact_ai_usage", "fact_ai_costs",
             "fct_usage_daily", "fct_cost_daily")
UNATTRIBUTED = ("", "unattributed", 0.0)


def usage_event(mart: Mart, event_id: str, platform: str, day: date,
                attribution: tuple[str, str, float] = UNATTRIBUTED, *, api_key_id: str | None = None,
                workspace_id: str | None = None, model: str | None = None,
                attributes: dict[str, str] | None = None, **counts: int) -> None:
    """A `usage_events` row as the worker writes it (the stream's attribution in `attribution`)."""
    email, method, confidence = attribution
    row = {"event_id": event_id, "version": 1, "source": platform, "platform": platform,
           "event_time": datetime.combine(day, datetime.min.time(), UTC), "usage_date": day,
           "user_email": email or None, "attribution_method": method, "attribution_confidence": confidence,
           "api_key_id": api_key_id, "workspace_id": workspace_id, "model": model,
           "attributes": attributes or {}, "raw_topic": "test", "raw_partition": 0, "raw_offset": 0, **counts}
    mart.client.insert("usage_events", [list(row.values())], column_names=list(row))


def cost_event(mart: Mart, event_id: str, platform: str, cost_kind: str, day: date, amount: str,
               attribution: tuple[str, str, float] = UNATTRIBUTED, *, api_key_id: str | None = None,
               workspace_id: str | None = None) -> None:
    """A `cost_events` row as the worker writes it."""
    email, method, confidence = attribution
    row = {"event_id": event_id, "version": 1, "source": platform, "platform": platform, "cost_kind": cost_kind,
           "event_time": datetime.combine(day, datetime.min.time(), UTC), "usage_date": day,
           "amount": Decimal(amount), "currency": "USD", "user_email": email or None, "attribution_method": method,
           "attribution_confidence": confidence, "api_key_id": api_key_id, "workspace_id": workspace_id,
           "model": MODEL, "cost_type": "tokens", "attributes": {}, "raw_topic": "test", "raw_partition": 0,
           "raw_offset": 0}
    mart.client.insert("cost_events", [list(row.values())], column_names=list(row))


def mapping(mart: Mart, api_key_id: str, email: str, source: str, confidence: float) -> None:
    mart.landing.polled("ref.api_key_mappings", {"api_key_id": api_key_id, "user_email": email, "source": source,
                                                 "confidence": confidence, "updated_at": mart.landing.fetched_at})


def land_batch_1(mart: Mart) -> None:
    landing = mart.landing
    landing.fetched_at = BATCH_1
    landing.polled("raw.cursor.members", {"email": "Alice@X.com", "name": "Alice", "role": "member", "team": "web"})
    landing.polled("raw.anthropic.users", {"id": "u_bob", "email": "Bob@X.com", "name": "Bob", "role": "developer"})
    landing.polled("raw.anthropic.users", {"id": "u_carol", "email": "carol@x.com", "name": "Carol", "role": "user"})
    for key in ("k1", "k3"):
        landing.polled("raw.anthropic.api_keys", {"id": key, "name": f"{key}-name", "created_by_id": "u_bob",
                                                  "created_by_type": "user", "workspace_id": "W1"})
    mapping(mart, "k3", "Carol@x.com", "sheet", 0.9)

    alice = ("alice@x.com", "direct_email", 1.0)
    bob = ("bob@x.com", "api_key_creator", 0.7)
    carol = ("carol@x.com", "api_key_mapping", 0.9)
    usage_event(mart, "cursor-daily", "cursor", DAY, alice, requests=10, lines_added=40, lines_removed=5,
                attributes={"totalLinesAdded": "50"})
    cost_event(mart, "cursor-cost", "cursor", "reported", DAY, "0.40", alice)
    for key, owner, tokens in (("k1", bob, 1000), ("k2", UNATTRIBUTED, 500), ("k3", carol, 300)):
        usage_event(mart, f"api-{key}", "anthropic_api", DAY, owner, api_key_id=key, workspace_id="W1", model=MODEL,
                    input_tokens=tokens, output_tokens=100)
        cost_event(mart, f"estimate-{key}", "anthropic_api", "estimated", DAY, "1.00", owner, api_key_id=key,
                   workspace_id="W1")
    cost_event(mart, "report-W1", "anthropic_api", "reported", DAY, "10.00", workspace_id="W1")
    cost_event(mart, "report-W2", "anthropic_api", "reported", NEXT_DAY, "5.00", workspace_id="W2")


def land_batch_2(mart: Mart) -> None:
    landing = mart.landing
    landing.fetched_at = BATCH_2
    mapping(mart, "k1", "dave@x.com", "manual", 1.0)
    mapping(mart, "k1", "erin@x.com", "sheet", 1.0)
    landing.polled("raw.anthropic.users", {"id": "u_alice", "email": "alice@x.com", "name": "Alice Anthropic",
                                           "role": "developer"})
    # A re-poll that changes nothing starts no version.
    landing.polled("raw.cursor.members", {"email": "Alice@X.com", "name": "Alice", "role": "member", "team": "web"})


USAGE = """
SELECT usage_date, platform, user_email, model, attribution_method, round(toFloat64(attribution_confidence), 2),
       input_tokens, total_tokens, requests, lines_added, lines_suggested
FROM fact_ai_usage ORDER BY platform, user_email
"""
COSTS = """
SELECT usage_date, platform, cost_kind, workspace_id, user_email, allocation_method,
       round(toFloat64(allocation_confidence), 2), amount, allocated_from
FROM fact_ai_costs ORDER BY usage_date, platform, cost_kind, workspace_id, allocation_method, user_email
"""


def d(text: str) -> Decimal:
    return Decimal(text)


def snapshot(mart: Mart) -> dict[str, list[str]]:
    return {table: sorted(repr(row) for row in mart.rows(f"SELECT * FROM {table}")) for table in AI_TABLES}


def test_first_batch_attributes_allocates_and_keeps_cost_kinds_apart(mart: Mart) -> None:
    land_batch_1(mart)
    outcome = mart.batch()

    assert mart.rows(USAGE) == [
        (DAY, "anthropic_api", "", MODEL, "unattributed", 0.0, 500, 600, 0, 0, 0),
        (DAY, "anthropic_api", "bob@x.com", MODEL, "api_key_creator", 0.7, 1000, 1100, 0, 0, 0),
        (DAY, "anthropic_api", "carol@x.com", MODEL, "api_key_mapping", 0.9, 300, 400, 0, 0, 0),
        (DAY, "cursor", "alice@x.com", "", "direct_email", 1.0, 0, 0, 10, 40, 50),
    ]
    assert mart.rows(COSTS) == [
        (DAY, "anthropic_api", "estimated", "W1", "bob@x.com", "direct", 0.7, d("1"), None),
        (DAY, "anthropic_api", "estimated", "W1", "carol@x.com", "direct", 0.9, d("1"), None),
        (DAY, "anthropic_api", "estimated", "W1", "", "unallocated", 0.0, d("1"), None),
        (DAY, "anthropic_api", "reported", "W1", "", "unallocated", 0.0, d("3.34"), d("10")),
        (DAY, "anthropic_api", "reported", "W1", "bob@x.com", "workspace_usage_share", 0.56, d("3.33"), d("10")),
        (DAY, "anthropic_api", "reported", "W1", "carol@x.com", "workspace_usage_share", 0.72, d("3.33"), d("10")),
        (DAY, "cursor", "reported", "", "alice@x.com", "direct", 1.0, d("0.4"), None),
        (NEXT_DAY, "anthropic_api", "reported", "W2", "", "unallocated", 0.0, d("5"), d("5")),
    ]
    # Allocation sums back exactly to what the vendor reported, per line and in total.
    assert mart.rows("SELECT sum(amount) FROM fact_ai_costs WHERE cost_kind = 'reported' AND platform = 'anthropic_api'"
                     ) == [(d("15"),)]
    assert mart.rows("SELECT DISTINCT line_allocated_total = allocated_from FROM vw_cost_allocation_detailed "
                     "WHERE allocated_from IS NOT NULL") == [(True,)]
    # Reported and estimated side by side, never one sum.
    assert mart.rows("SELECT platform, reported_spend_mtd, estimated_spend_mtd, active_users, "
                     "reported_cost_per_active_user FROM vw_executive_dashboard ORDER BY platform") == [
        ("anthropic_api", d("15"), d("3"), 2, d("7.5")),
        ("cursor", d("0.4"), d("0"), 1, d("0.4")),
    ]
    assert mart.rows("SELECT user_email, reported_cost, reported_direct_cost, reported_allocated_cost, "
                     "reported_unallocated_cost, estimated_cost FROM fct_cost_daily "
                     "WHERE usage_date = '2026-03-01' ORDER BY platform, user_email") == [
        ("", d("3.34"), d("0"), d("0"), d("3.34"), d("1")),
        ("bob@x.com", d("3.33"), d("0"), d("3.33"), d("0"), d("1")),
        ("carol@x.com", d("3.33"), d("0"), d("3.33"), d("0"), d("1")),
        ("alice@x.com", d("0.4"), d("0.4"), d("0"), d("0"), d("0")),
    ]
    assert mart.rows("SELECT email, sessions, lines, accepted_lines, requests, reported_cost, reported_cost_per_line "
                     "FROM vw_team_productivity WHERE email = 'alice@x.com'") == [
        ("alice@x.com", 0, 50, 40, 10, d("0.4"), d("0.01"))]
    assert [result.test for result in outcome.tests if result.status is not Status.PASS] == []


def test_a_late_key_mapping_re_attributes_the_old_facts(mart: Mart) -> None:
    land_batch_1(mart)
    mart.batch()
    land_batch_2(mart)
    outcome = mart.batch()

    assert outcome.report.mode == "incremental"
    assert mart.rows(USAGE) == [
        (DAY, "anthropic_api", "", MODEL, "unattributed", 0.0, 500, 600, 0, 0, 0),
        (DAY, "anthropic_api", "carol@x.com", MODEL, "api_key_mapping", 0.9, 300, 400, 0, 0, 0),
        (DAY, "anthropic_api", "dave@x.com", MODEL, "api_key_mapping", 1.0, 1000, 1100, 0, 0, 0),
        (DAY, "cursor", "alice@x.com", "", "direct_email", 1.0, 0, 0, 10, 40, 50),
    ]
    built = {model.model: model.action for model in outcome.report.models}
    assert built["fact_ai_usage"] is Action.PARTITIONS and built["fact_ai_costs"] is Action.PARTITIONS
    assert mart.rows("SELECT cost_kind, user_email, allocation_method, round(toFloat64(allocation_confidence), 2), "
                     "amount FROM fact_ai_costs WHERE user_email IN ('bob@x.com', 'dave@x.com') "
                     "ORDER BY cost_kind") == [
        ("estimated", "dave@x.com", "direct", 1.0, d("1")),
        ("reported", "dave@x.com", "workspace_usage_share", 0.8, d("3.33")),
    ]
    assert mart.rows("SELECT email, name, role, team, sources, valid_from, valid_to, is_current FROM dim_users "
                     "WHERE email IN ('alice@x.com', 'dave@x.com', 'erin@x.com') ORDER BY email, valid_from") == [
        ("alice@x.com", "Alice", "member", "web", ["cursor_members"], BATCH_1.replace(tzinfo=None),
         BATCH_2.replace(tzinfo=None), False),
        ("alice@x.com", "Alice Anthropic", "developer", "web", ["anthropic_users", "cursor_members"],
         BATCH_2.replace(tzinfo=None), None, True),
        ("dave@x.com", None, None, None, ["api_key_mappings"], BATCH_2.replace(tzinfo=None), None, True),
        ("erin@x.com", None, None, None, ["api_key_mappings"], BATCH_2.replace(tzinfo=None), None, True),
    ]
    assert [result.test for result in outcome.tests if result.status is not Status.PASS] == []


def test_batches_with_nothing_new_are_idempotent_and_incremental_equals_full(mart: Mart) -> None:
    land_batch_1(mart)
    mart.batch()
    land_batch_2(mart)
    mart.batch()
    incremental = snapshot(mart)

    mart.batch()
    assert snapshot(mart) == incremental
    mart.batch(full=True)
    assert snapshot(mart) == incremental
