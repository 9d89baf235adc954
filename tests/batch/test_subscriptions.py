"""The subscription and funnel marts on hand-built landing data, against hand-computed rows (real ClickHouse engine).

The scenario (all on 2026-03-02 unless said otherwise):
- sub_A (profile P1) pays 49.00 USD at 10:00; P1 visited on 02-25 (s1), converted in s2 at 09:30 and came back
  on 03-03 (s3);
- sub_B (P2) fails a 3000 JPY charge at 11:00 and pays 3000 JPY (zero-decimal) at 11:05; session s4 at 08:05;
- sub_C (P3) pays 45.00 EUR at 12:00 (its charge first landed pending) and is later canceled; session s5 on
  03-01 12:00 in a funnel the funnels feed lacks, written ' fr ' / ' Email ';
- sub_G (P7) pays 12.500 KWD (three-decimal) and has no session;
- excluded: sub_D (sandbox), sub_E (a test-mode charge), sub_F (its only charge failed), sub_H (its charge has
  not landed: it lands in the second batch);
- s6 is P9's session that never converts; product events name profiles by user id, email or device.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from batch.data_tests import Status
from batch.project import load_project
from tests.batch.conftest import Mart
from tests.batch.landing import rfc3339, utc

pytestmark = pytest.mark.integration

PROJECT = load_project().select(("mart_new_subscriptions", "mart_funnel_conversions"))
"""The marts under test and what they read: other models' state does not matter here."""

BATCH_1 = datetime.fromisoformat("2026-03-04T06:00:00+00:00")
BATCH_2 = datetime.fromisoformat("2026-03-05T06:00:00+00:00")




def charge(mart: Mart, charge_id: str, amount: int, currency: str, created: str, status: str = "succeeded", *,
           livemode: bool = True) -> None:
    """A Stripe charge as the Stripe poller publishes it (`created` in epoch seconds, as Stripe sends it)."""
    moment = datetime.fromisoformat(f"{created}:00+00:00")
    row = {"id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": 0,
           "currency": currency, "status": status, "paid": status == "succeeded", "refunded": False,
           "customer": None, "failure_code": "card_declined" if status == "failed" else None,
           "livemode": livemode, "metadata": {}, "created": int(moment.timestamp())}
    mart.landing.polled("raw.stripe.charges", row, created=moment)


def subscription(mart: Mart, subscription_id: str, profile: str, charge_id: str, created: str, *,
                 status: str = "active", sandbox: bool = False, updated: str | None = None) -> None:
    """A subscription charge attempt as the funnel poller publishes it."""
    mart.landing.polled("raw.funnel.subscriptions", {
        "id": subscription_id, "profile_id": profile, "psp_id": charge_id, "sandbox": sandbox,
        "created_at": rfc3339(created), "status": status, "updated_at": rfc3339(updated or created)})


def session(mart: Mart, session_id: str, profile: str, funnel: str, created: str, country: str, city: str,
            origin: str, email: str | None = None, device: str | None = None) -> None:
    """A funnel session as the funnel poller publishes it."""
    mart.landing.polled("raw.funnel.sessions", {
        "id": session_id, "profile_id": profile, "funnel_id": funnel, "created_at": rfc3339(created),
        "country": country, "city": city, "origin": origin, "email": email, "device_id": device,
        "updated_at": rfc3339(created)})


def event(mart: Mart, event_type: str, time: str, user_id: str | None = None, email: str | None = None,
          device: str | None = None) -> int:
    """A product event as the funnel poller publishes it; returns its offset."""
    return mart.landing.polled("raw.funnel.product_events", {
        "user_id": user_id, "email": email, "device_id": device, "event_type": event_type, "time": rfc3339(time)})


def land_batch_1(mart: Mart) -> None:
    mart.landing.fetched_at = datetime.fromisoformat("2026-03-02T13:00:00+00:00")
    charge(mart, "ch_eur_ok", 4500, "eur", "2026-03-02 12:00", "pending")
    mart.landing.fetched_at = BATCH_1
    charge(mart, "ch_usd_ok", 4900, "usd", "2026-03-02 10:00")
    charge(mart, "ch_jpy_fail", 3000, "jpy", "2026-03-02 11:00", "failed")
    charge(mart, "ch_jpy_ok", 3000, "jpy", "2026-03-02 11:05")
    charge(mart, "ch_eur_ok", 4500, "eur", "2026-03-02 12:00")
    charge(mart, "ch_sandbox", 1900, "usd", "2026-03-02 12:30", livemode=False)
    charge(mart, "ch_test_mode", 990, "usd", "2026-03-02 12:40", livemode=False)
    charge(mart, "ch_failed_only", 1900, "usd", "2026-03-02 12:50", "failed")
    charge(mart, "ch_kwd_ok", 12500, "kwd", "2026-03-02 13:00")
    subscription(mart, "sub_A", "P1", "ch_usd_ok", "2026-03-02 09:59")
    subscription(mart, "sub_B", "P2", "ch_jpy_fail", "2026-03-02 10:59")
    subscription(mart, "sub_B", "P2", "ch_jpy_ok", "2026-03-02 11:04")
    subscription(mart, "sub_C", "P3", "ch_eur_ok", "2026-03-02 11:59")
    subscription(mart, "sub_C", "P3", "ch_eur_ok", "2026-03-02 11:59", status="canceled", updated="2026-03-03 08:00")
    subscription(mart, "sub_D", "P4", "ch_sandbox", "2026-03-02 12:29", sandbox=True)
    subscription(mart, "sub_E", "P5", "ch_test_mode", "2026-03-02 12:39")
    subscription(mart, "sub_F", "P6", "ch_failed_only", "2026-03-02 12:49", status="incomplete")
    subscription(mart, "sub_G", "P7", "ch_kwd_ok", "2026-03-02 12:59")
    subscription(mart, "sub_H", "P8", "ch_late", "2026-03-02 14:00")
    mart.landing.polled("raw.funnel.funnels", {"id": "fnl_quiz", "title": "Personality quiz",
                                              "updated_at": rfc3339("2026-01-01 00:00")})
    mart.landing.polled("raw.funnel.funnels", {"id": "fnl_trial", "title": "7-day free trial",
                                              "updated_at": rfc3339("2026-01-01 00:00")})
    session(mart, "s1", "P1", "fnl_quiz", "2026-02-25 08:00", "US", "Austin", "google", "a@x.com", "d1")
    session(mart, "s2", "P1", "fnl_trial", "2026-03-02 09:30", "US", "Seattle", "facebook", "a@x.com", "d1")
    session(mart, "s3", "P1", "fnl_quiz", "2026-03-03 09:00", "US", "Seattle", "organic", "a@x.com", "d1")
    session(mart, "s4", "P2", "fnl_quiz", "2026-03-02 08:05", "JP", "Tokyo", "tiktok", "b@y.jp", "d2")
    session(mart, "s5", "P3", "fnl_offer", "2026-03-01 12:00", " fr ", "Paris", " Email ")
    session(mart, "s6", "P9", "fnl_quiz", "2026-03-02 13:00", "DE", "Berlin", "organic", device="d9")
    first = event(mart, "app_open", "2026-03-02 10:30", user_id="P1")
    event(mart, "feature_used", "2026-02-26 10:00", email=" A@X.com")
    event(mart, "paywall_viewed", "2026-03-02 08:10", device="d2")
    event(mart, "app_open", "2026-03-02 12:00", user_id="usr_stranger", email="b@y.jp")
    event(mart, "app_open", "2026-03-02 12:00", device="d_unknown")
    event(mart, "feature_used", "2026-03-03 10:00", user_id="P1")
    event(mart, "app_open", "2026-03-02 12:00", user_id="P9")
    # Polled again by the next pass: the same event at another offset.
    mart.landing.fetched_at = BATCH_1.replace(minute=1)
    event(mart, "app_open", "2026-03-02 10:30", user_id="P1")
    mart.landing.redeliver("raw.funnel.product_events", first)


NEW_SUBSCRIPTIONS = """
SELECT subscription_id, profile_id, subscribed_at, status, charge_id, charged_at, currency, minor_units, revenue,
       revenue_usd, failed_attempts, session_id, funnel_id, funnel_title, country, city, origin
FROM mart_new_subscriptions ORDER BY subscription_id
"""
CONVERSIONS = """
SELECT session_id, profile_id, funnel_title, session_started_at, converted, subscription_id, converted_at,
       hours_to_conversion, revenue, currency, revenue_usd, product_events, first_product_event_at
FROM mart_funnel_conversions ORDER BY session_id
"""


def dec(text: str) -> Decimal:
    """A decimal as ClickHouse returns Decimal columns."""
    return Decimal(text)


def test_new_subscriptions_count_the_first_paid_charge_in_its_currency_units(mart: Mart) -> None:
    land_batch_1(mart)
    outcome = mart.batch(PROJECT)

    assert mart.rows(NEW_SUBSCRIPTIONS) == [
        ("sub_A", "P1", utc("2026-03-02 09:59"), "active", "ch_usd_ok", utc("2026-03-02 10:00"), "USD", 2,
         dec("49"), dec("49.00"), 0, "s2", "fnl_trial", "7-day free trial", "US", "Seattle", "facebook"),
        ("sub_B", "P2", utc("2026-03-02 10:59"), "active", "ch_jpy_ok", utc("2026-03-02 11:05"), "JPY", 0,
         dec("3000"), dec("19.20"), 1, "s4", "fnl_quiz", "Personality quiz", "JP", "Tokyo", "tiktok"),
        ("sub_C", "P3", utc("2026-03-02 11:59"), "canceled", "ch_eur_ok", utc("2026-03-02 12:00"), "EUR", 2,
         dec("45"), dec("52.65"), 0, "s5", "fnl_offer", None, "FR", "Paris", "email"),
        ("sub_G", "P7", utc("2026-03-02 12:59"), "active", "ch_kwd_ok", utc("2026-03-02 13:00"), "KWD", 3,
         dec("12.5"), dec("40.75"), 0, None, None, None, None, None, None),
    ]
    assert {result.status for result in outcome.tests if result.model in PROJECT.models} == {Status.PASS}


def test_each_session_once_with_its_conversion_and_linked_product_events(mart: Mart) -> None:
    land_batch_1(mart)
    mart.batch(PROJECT)

    assert mart.rows(CONVERSIONS) == [
        ("s1", "P1", "Personality quiz", utc("2026-02-25 08:00"), 0, None, None, None, None, None, None,
         1, utc("2026-02-26 10:00")),
        ("s2", "P1", "7-day free trial", utc("2026-03-02 09:30"), 1, "sub_A", utc("2026-03-02 10:00"), 0.5,
         dec("49"), "USD", dec("49.00"), 1, utc("2026-03-02 10:30")),
        ("s3", "P1", "Personality quiz", utc("2026-03-03 09:00"), 0, None, None, None, None, None, None,
         1, utc("2026-03-03 10:00")),
        ("s4", "P2", "Personality quiz", utc("2026-03-02 08:05"), 1, "sub_B", utc("2026-03-02 11:05"), 3.0,
         dec("3000"), "JPY", dec("19.20"), 2, utc("2026-03-02 08:10")),
        ("s5", "P3", None, utc("2026-03-01 12:00"), 1, "sub_C", utc("2026-03-02 12:00"), 24.0,
         dec("45"), "EUR", dec("52.65"), 0, None),
        ("s6", "P9", "Personality quiz", utc("2026-03-02 13:00"), 0, None, None, None, None, None, None, 0, None),
    ]
    assert mart.rows("SELECT event_type, event_at, profile_id, linked_by FROM int__product_event_profiles "
                     "ORDER BY event_at, event_type, linked_by") == [
        ("feature_used", utc("2026-02-26 10:00"), "P1", "email"),
        ("paywall_viewed", utc("2026-03-02 08:10"), "P2", "device_id"),
        ("app_open", utc("2026-03-02 10:30"), "P1", "user_id"),
        ("app_open", utc("2026-03-02 12:00"), None, ""),
        ("app_open", utc("2026-03-02 12:00"), "P2", "email"),
        ("app_open", utc("2026-03-02 12:00"), "P9", "user_id"),
        ("feature_used", utc("2026-03-03 10:00"), "P1", "user_id"),
    ]


def test_a_late_charge_and_a_cancellation_reach_the_marts_in_the_next_batch(mart: Mart) -> None:
    land_batch_1(mart)
    mart.batch(PROJECT)
    mart.landing.fetched_at = BATCH_2
    charge(mart, "ch_late", 990, "usd", "2026-03-02 14:01")
    subscription(mart, "sub_A", "P1", "ch_usd_ok", "2026-03-02 09:59", status="canceled", updated="2026-03-04 09:00")

    outcome = mart.batch(PROJECT)

    assert outcome.report.mode == "incremental"
    rows: list[tuple[Any, ...]] = mart.rows("SELECT subscription_id, status, revenue_usd, session_id "
                                            "FROM mart_new_subscriptions ORDER BY subscription_id")
    assert rows == [("sub_A", "canceled", dec("49.00"), "s2"), ("sub_B", "active", dec("19.20"), "s4"),
                    ("sub_C", "canceled", dec("52.65"), "s5"), ("sub_G", "active", dec("40.75"), None),
                    ("sub_H", "active", dec("9.90"), None)]
    assert mart.rows("SELECT count(), countIf(converted), sum(revenue_usd) FROM mart_funnel_conversions") == [
        (6, 3, dec("120.85"))]
