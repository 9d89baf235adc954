"""The support and churn marts on hand-built landing data, against hand-computed rows (real ClickHouse engine).

Ten tickets as people type them (case, spaces, a `v` before versions, a missing root cause, an out-of-range score,
a resolution before creation), one of them restated from open to resolved; customers C1-C3; products where one
ticket's product is unknown. Churn adds logins (C4 is known from logins only) and C5, a customer about to leave.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from batch.data_tests import Status
from batch.project import load_project
from tests.batch.conftest import Mart
from tests.batch.landing import rfc3339, utc

pytestmark = pytest.mark.integration

PROJECT = load_project().select(("mart_ticket_analytics", "mart_top_root_causes", "mart_churned_customers"))
"""The marts under test and what they read: other models' state does not matter here."""

Ticket = tuple[str, str, str, str, str | None, str, str, str, str | None, int | None, str | None]
"""id, customer, product, category, root cause, severity, status, created, resolved, score, app version."""

TICKETS: list[Ticket] = [
    ("T1", "C1", "P-APP", " Technical ", "crash_on_launch", "HIGH", "Resolved", "2026-03-05 10:00", "2026-03-05 16:00",
     2, "v2.3.0"),
    ("T2", "C1", "P-APP", "technical", "crash_on_launch", "critical", "open", "2026-03-20 09:00", None, None, "2.3.0"),
    ("T3", "C2", "P-API", "billing", "failed_payment", "low", "closed", "2026-02-10 08:00", "2026-02-12 08:00", 5,
     "2.2.0"),
    ("T4", "C2", "P-API", "BILLING", None, "medium", "pending", "2026-03-15 08:00", None, 0, " 2.3.0"),
    ("T5", "C3", "P-GONE", "account", "password_reset", "low", "resolved", "2026-01-05 00:00", "2026-01-09 00:00", 3,
     "2.1.0"),
    ("T6", "C1", "P-APP", " technical", "sync_failure", "medium", "closed", "2026-03-08 00:00", "2026-03-09 00:00",
     4, "2.2.0"),
    ("T7", "C2", "P-API", "technical", "sync_failure", "high", "resolved", "2026-02-20 00:00", "2026-02-22 12:00", 1,
     "2.3.0"),
    ("T8", "C1", "P-APP", "account", "sso_misconfiguration", "low", "closed", "2026-03-25 10:00", "2026-03-25 09:00",
     None, None),
    ("T9", "C3", "P-APP", "technical", "Crash_On_Launch ", "high", "resolved", "2026-03-10 00:00", "2026-03-11 16:00",
     4, "2.3.0"),
    ("T10", "C1", "P-APP", "technical", "crash_on_launch", "low", "resolved", "2026-01-20 10:00", "2026-01-20 12:00",
     5, "V2.2.0"),
]
LEAVING_TICKETS: list[Ticket] = [
    ("T21", "C5", "P-API", "technical", "api_timeout", "critical", "open", "2026-03-20 00:00", None, None, "2.3.0"),
    ("T22", "C5", "P-API", "billing", "double_charge", "high", "open", "2026-03-21 00:00", None, None, "2.3.0"),
    ("T23", "C5", "P-APP", "account", "password_reset", "low", "open", "2026-03-22 00:00", None, None, "2.3.0"),
    ("T24", "C5", "P-APP", "billing", "invoice_error", "low", "resolved", "2026-02-01 00:00", "2026-02-01 05:00", 1,
     "2.2.0"),
]
LOGINS = {
    "C1": ["2026-03-31 12:00", "2026-02-20 12:00", "2026-02-10 12:00", "2026-02-01 12:00", "2026-01-20 12:00",
           "2026-01-15 12:00"],
    "C2": ["2026-02-10 12:00", "2026-01-20 12:00", "2026-01-10 12:00"],
    "C3": ["2025-12-01 00:00"],
    "C4": ["2026-03-10 12:00"],
    "C5": ["2026-01-10 12:00", "2026-02-05 12:00", "2026-02-25 12:00"],
}




def land_tickets(mart: Mart, tickets: Sequence[Ticket]) -> None:
    """Tickets as the helpdesk poller publishes them."""
    for ticket_id, customer, product, category, cause, severity, status, created, resolved, score, version in tickets:
        mart.landing.polled("raw.helpdesk.tickets", {
            "id": ticket_id, "customer_id": customer, "product_id": product, "category": category, "root_cause": cause,
            "severity": severity, "channel": "email", "status": status, "created_at": rfc3339(created),
            "resolved_at": None if resolved is None else rfc3339(resolved), "satisfaction_score": score,
            "app_version": version, "subject": f" {cause or ''} ", "updated_at": rfc3339(resolved or created)})


def land_helpdesk(mart: Mart) -> None:
    """Customers, products and TICKETS; T7 first lands open, as polled before it was resolved."""
    published = rfc3339("2026-01-01 00:00")
    for customer, segment, city, clv in (("C1", "SMB", "London", 1000.0), ("C2", "Enterprise", "Berlin", 50000.0),
                                         ("C3", "Mid-Market", "Paris", 10000.0), ("C5", "SMB", "Austin", 2000.0)):
        mart.landing.polled("raw.helpdesk.customers", {"id": customer, "segment": segment, "city": city, "clv": clv,
                                                       "updated_at": published})
    for product, name, category, kind in (("P-APP", "Mobile app", " Apps ", "core"),
                                          ("P-API", "Public API", "platform", "core")):
        mart.landing.polled("raw.helpdesk.products", {"id": product, "name": name, "category": category,
                                                      "type": kind, "updated_at": published})
    land_tickets(mart, [("T7", "C2", "P-API", "technical", "sync_failure", "high", "open", "2026-02-20 00:00", None,
                         None, "2.3.0")])
    land_tickets(mart, TICKETS)


def test_stg_tickets_cleans_and_derives(mart: Mart) -> None:
    land_helpdesk(mart)
    outcome = mart.batch(PROJECT)

    assert mart.rows("SELECT ticket_id, category, root_cause, severity, status, is_resolved, resolution_hours, "
                     "resolution_speed, satisfaction_score, satisfaction_level, app_version, subject "
                     "FROM stg_tickets ORDER BY length(ticket_id), ticket_id") == [
        ("T1", "technical", "crash_on_launch", "high", "resolved", 1, 6.0, "fast", 2, "dissatisfied", "2.3.0",
         "crash_on_launch"),
        ("T2", "technical", "crash_on_launch", "critical", "open", 0, None, "unresolved", None, "not_rated", "2.3.0",
         "crash_on_launch"),
        ("T3", "billing", "failed_payment", "low", "closed", 1, 48.0, "normal", 5, "satisfied", "2.2.0",
         "failed_payment"),
        ("T4", "billing", "unknown", "medium", "pending", 0, None, "unresolved", None, "not_rated", "2.3.0", ""),
        ("T5", "account", "password_reset", "low", "resolved", 1, 96.0, "slow", 3, "neutral", "2.1.0",
         "password_reset"),
        ("T6", "technical", "sync_failure", "medium", "closed", 1, 24.0, "normal", 4, "satisfied", "2.2.0",
         "sync_failure"),
        ("T7", "technical", "sync_failure", "high", "resolved", 1, 60.0, "normal", 1, "dissatisfied", "2.3.0",
         "sync_failure"),
        ("T8", "account", "sso_misconfiguration", "low", "closed", 1, None, "unknown", None, "not_rated", None,
         "sso_misconfiguration"),
        ("T9", "technical", "crash_on_launch", "high", "resolved", 1, 40.0, "normal", 4, "satisfied", "2.3.0",
         "Crash_On_Launch"),
        ("T10", "technical", "crash_on_launch", "low", "resolved", 1, 2.0, "fast", 5, "satisfied", "2.2.0",
         "crash_on_launch"),
    ]
    assert {result.status for result in outcome.tests if result.model in PROJECT.models} == {Status.PASS}


def test_ticket_analytics_adds_customer_product_and_calendar(mart: Mart) -> None:
    land_helpdesk(mart)
    mart.batch(PROJECT)

    assert mart.rows("SELECT ticket_id, customer_segment, customer_clv, product_name, product_category, "
                     "created_date, created_year, created_quarter, created_month, is_open, is_high_severity "
                     "FROM mart_ticket_analytics WHERE ticket_id IN ('T1', 'T2', 'T3', 'T5') ORDER BY ticket_id") == [
        ("T1", "SMB", 1000.0, "Mobile app", "apps", utc("2026-03-05 00:00").date(), 2026, 1, 3, 0, 1),
        ("T2", "SMB", 1000.0, "Mobile app", "apps", utc("2026-03-20 00:00").date(), 2026, 1, 3, 1, 1),
        ("T3", "Enterprise", 50000.0, "Public API", "platform", utc("2026-02-10 00:00").date(), 2026, 1, 2, 0, 0),
        ("T5", "Mid-Market", 10000.0, None, "unknown", utc("2026-01-05 00:00").date(), 2026, 1, 1, 0, 0),
    ]
    assert mart.rows("SELECT count() FROM mart_ticket_analytics") == [(len(TICKETS),)]


ROOT_CAUSE_COLUMNS = """
SELECT root_cause, category, product_category, tickets, round(share_of_period, 4), round(share_of_category, 4),
       rank_in_period, open_tickets, round(open_share, 4), round(avg_resolution_hours, 4),
       round(median_resolution_hours, 4), round(avg_satisfaction, 4), top_app_version, round(top_version_share, 4),
       round(version_lift, 4)
FROM mart_top_root_causes
"""


def test_top_root_causes_per_period_with_shares_resolution_and_version_lift(mart: Mart) -> None:
    land_helpdesk(mart)
    mart.batch(PROJECT)

    # 2026: 10 tickets, 9 naming a version, 5 of them 2.3.0; technical 6, billing 2, account 2.
    assert mart.rows(ROOT_CAUSE_COLUMNS + "WHERE period = 'year' ORDER BY rank_in_period") == [
        ("crash_on_launch", "technical", "apps", 4, 0.4, 0.6667, 1, 1, 0.25, 16.0, 6.0, 3.6667, "2.3.0", 0.75, 1.35),
        ("failed_payment", "billing", "platform", 1, 0.1, 0.5, 2, 0, 0.0, 48.0, 48.0, 5.0, "2.2.0", 1.0, 3.0),
        ("password_reset", "account", "unknown", 1, 0.1, 0.5, 3, 0, 0.0, 96.0, 96.0, 3.0, "2.1.0", 1.0, 9.0),
        ("sso_misconfiguration", "account", "apps", 1, 0.1, 0.5, 4, 0, 0.0, None, None, None, None, None, None),
        ("sync_failure", "technical", "apps", 1, 0.1, 0.1667, 5, 0, 0.0, 24.0, 24.0, 4.0, "2.2.0", 1.0, 3.0),
        ("sync_failure", "technical", "platform", 1, 0.1, 0.1667, 6, 0, 0.0, 60.0, 60.0, 1.0, "2.3.0", 1.0, 1.8),
        ("unknown", "billing", "platform", 1, 0.1, 0.5, 7, 1, 1.0, None, None, None, "2.3.0", 1.0, 1.8),
    ]
    # March: 6 tickets (technical 4), 5 naming a version, 4 of them 2.3.0.
    assert mart.rows(ROOT_CAUSE_COLUMNS + "WHERE period = 'month' AND period_start = '2026-03-01' "
                                          "AND rank_in_period = 1") == [
        ("crash_on_launch", "technical", "apps", 3, 0.5, 0.75, 1, 1, 0.3333, 23.0, 23.0, 3.0, "2.3.0", 1.0, 1.25)]
    assert mart.rows("SELECT period, period_start, count(), sum(tickets) FROM mart_top_root_causes "
                     "GROUP BY period, period_start ORDER BY period, period_start") == [
        ("month", utc("2026-01-01 00:00").date(), 2, 2), ("month", utc("2026-02-01 00:00").date(), 2, 2),
        ("month", utc("2026-03-01 00:00").date(), 4, 6), ("quarter", utc("2026-01-01 00:00").date(), 7, 10),
        ("year", utc("2026-01-01 00:00").date(), 7, 10),
    ]


def test_churned_customers_flags_scores_and_clv(mart: Mart) -> None:
    land_helpdesk(mart)
    land_tickets(mart, LEAVING_TICKETS)
    for customer, logins in LOGINS.items():
        for login in logins:
            mart.landing.polled("raw.helpdesk.logins", {"customer_id": customer, "at": rfc3339(login)})
    # Polled again by the next pass.
    mart.landing.polled("raw.helpdesk.logins", {"customer_id": "C1", "at": rfc3339(LOGINS["C1"][0])})

    outcome = mart.batch(PROJECT)

    # as_of is the newest login, 2026-03-31 12:00; the 30/90-day windows start 03-01 and 2025-12-31 at 12:00.
    assert mart.rows("SELECT customer_id, segment, as_of, days_since_last_login, logins_30d, logins_90d, churned_30d, "
                     "churned_90d, open_tickets, tickets_90d, high_severity_tickets_90d, rated_tickets_90d, "
                     "dissatisfied_tickets_90d, round(avg_satisfaction_90d, 4) "
                     "FROM mart_churned_customers ORDER BY customer_id") == [
        ("C1", "SMB", utc("2026-03-31 12:00"), 0, 1, 6, 0, 0, 1, 5, 2, 3, 1, 3.6667),
        ("C2", "Enterprise", utc("2026-03-31 12:00"), 49, 0, 3, 1, 0, 1, 3, 1, 2, 1, 3.0),
        ("C3", "Mid-Market", utc("2026-03-31 12:00"), 120, 0, 0, 1, 1, 0, 2, 1, 2, 0, 3.5),
        ("C4", None, utc("2026-03-31 12:00"), 21, 1, 1, 0, 0, 0, 0, 0, 0, 0, None),
        ("C5", "SMB", utc("2026-03-31 12:00"), 34, 0, 3, 1, 0, 3, 4, 2, 1, 1, 1.0),
    ]
    # inactivity + decline + support + dissatisfaction = score; CLV at risk and risk-adjusted CLV.
    assert mart.rows("SELECT customer_id, inactivity_points, decline_points, support_points, dissatisfaction_points, "
                     "churn_risk_score, risk_level, clv, clv_at_risk, estimated_clv "
                     "FROM mart_churned_customers ORDER BY customer_id") == [
        ("C1", 0, 10.0, 15, 5.0, 30.0, "medium", 1000.0, 300.0, 700.0),
        ("C2", 25, 20.0, 10, 7.5, 62.5, "high", 50000.0, 31250.0, 18750.0),
        ("C3", 40, 0.0, 5, 0.0, 45.0, "medium", 10000.0, 4500.0, 5500.0),
        ("C4", 10, 0.0, 0, 0.0, 10.0, "low", None, None, None),
        ("C5", 25, 20.0, 25, 15.0, 85.0, "critical", 2000.0, 1700.0, 300.0),
    ]
    assert {result.status for result in outcome.tests if result.model in PROJECT.models} == {Status.PASS}
