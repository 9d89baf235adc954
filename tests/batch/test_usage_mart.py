"""The usage mart on hand-built landing data, against hand-computed marts (real ClickHouse engine).

The scenario, over three batches:
- batch 1: catalogs (customer C1; products P1, P2; plans BASIC, PRO; country US; currencies USD,
  EUR), the price book (P1 0.50 for every plan, 0.60 from 2026-03-02, 0.40 for PRO; P2 2.00 with
  no currency), and usage, some of it by customer C9 and country DE that no catalog has;
- batch 2: a CLOSED restatement, a restated row, a redelivered record, a stale restatement that
  arrives late, and more C9 usage under a differently written code (' c9');
- batch 3: C9 lands in the customers catalog, two batches after usage first named it.
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
BATCH_3 = datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
LATER = "2026-03-04T05:00:00.000Z"
EARLIER = "2026-03-02T05:00:00.000Z"

FACT_BY_CODES = """
SELECT c.customer_code, p.product_code, pl.plan_code, f.report_date, co.country_code, cu.currency_code,
       f.units_used, f.included_units, f.overage_units, f.unit_price, f.billed_value, f.included_value,
       f.overage_value, round(f.overage_share, 6)
FROM fact_usage AS f
INNER JOIN dim_customer AS c ON c.customer_key = f.customer_key
INNER JOIN dim_product AS p ON p.product_key = f.product_key
INNER JOIN dim_plan AS pl ON pl.plan_key = f.plan_key
INNER JOIN dim_country AS co ON co.country_key = f.country_key
LEFT JOIN dim_currency AS cu ON cu.currency_key = f.currency_key
ORDER BY 1, 2, 3, 4
"""


def d(text: str) -> Decimal:
    return Decimal(text)


def land_batch_1(usage_mart: Mart) -> None:
    landing = usage_mart.landing
    landing.fetched_at = BATCH_1
    landing.catalog("customers", "C1", "One Corp", segment="SMB", country_code="US")
    landing.catalog("products", "P1", "Calls", category="platform", unit="call")
    landing.catalog("products", "P2", "Storage", category="infrastructure", unit="GB")
    landing.catalog("plans", "BASIC", "Basic", tier="1")
    landing.catalog("plans", "PRO", "Pro", tier="2")
    landing.catalog("countries", "US", "United States", region="AMER")
    landing.catalog("currencies", "USD", "US Dollar", minor_units="2")
    landing.catalog("currencies", "EUR", "Euro", minor_units="2")
    landing.price("P1", "", "2026-01-01", "0.50")
    landing.price("P1", "", "2026-03-02", "0.60")
    landing.price("P1", "PRO", "2026-01-01", "0.40")
    landing.price("P2", "", "2026-01-01", "2.00", currency=None)
    landing.usage("C1", "P1", "BASIC", "2026-03-01", 100, 80)
    landing.usage("C1", "P1", "BASIC", "2026-03-02", 100, 80)
    landing.usage("C1", "P1", "PRO", "2026-03-02", 50, 100)
    landing.usage("C9", "P2", "BASIC", "2026-03-01", 10, 0, country="DE")
    landing.usage("C1", "P2", "BASIC", "2026-03-01", 5, 10)


def land_batch_2(usage_mart: Mart) -> None:
    landing = usage_mart.landing
    landing.fetched_at = BATCH_2
    landing.usage("C1", "P2", "BASIC", "2026-03-01", 5, 10, status="CLOSED", updated_at=LATER)
    landing.usage("C1", "P1", "BASIC", "2026-03-02", 120, 80, updated_at=LATER)
    landing.redeliver("raw.product.usage", 0)
    # Restated before the row it would replace: it arrives late and must lose.
    landing.usage("C1", "P1", "PRO", "2026-03-02", 999, 100, updated_at=EARLIER)
    landing.usage(" c9", "p2", "basic", "2026-03-02", 30, 0, country=None)


def land_batch_3(usage_mart: Mart) -> None:
    usage_mart.landing.fetched_at = BATCH_3
    usage_mart.landing.catalog("customers", "C9", "Nine Ltd", segment="ENT", country_code="DE")


def test_batch_1_completes_the_dimensions_and_prices_the_facts(usage_mart: Mart) -> None:
    land_batch_1(usage_mart)
    outcome = usage_mart.batch()

    assert outcome.report.mode == "full"
    assert usage_mart.rows(FACT_BY_CODES) == [
        ("C1", "P1", "BASIC", date(2026, 3, 1), "US", "USD", 100.0, 80.0, 20.0,
         d("0.5"), d("50"), d("40"), d("10"), 0.2),
        ("C1", "P1", "BASIC", date(2026, 3, 2), "US", "USD", 100.0, 80.0, 20.0,
         d("0.6"), d("60"), d("48"), d("12"), 0.2),
        ("C1", "P1", "PRO", date(2026, 3, 2), "US", "USD", 50.0, 100.0, 0.0, d("0.4"), d("20"), d("20"), d("0"), 0.0),
        ("C1", "P2", "BASIC", date(2026, 3, 1), "US", "USD", 5.0, 10.0, 0.0, d("2"), d("10"), d("10"), d("0"), 0.0),
        ("C9", "P2", "BASIC", date(2026, 3, 1), "DE", "USD", 10.0, 0.0, 10.0, d("2"), d("20"), d("0"), d("20"), 1.0),
    ]
    assert usage_mart.rows("SELECT customer_code, customer_name, segment, record_source, first_seen_at FROM dim_customer "
                     "ORDER BY customer_code") == [
        ("", "Unknown customer", "Unknown", "System.DefaultMember", None),
        ("C1", "One Corp", "SMB", "ref.catalog.customers", BATCH_1.replace(tzinfo=None)),
        ("C9", "Unknown customer", "Unknown", "System.DefaultKey", BATCH_1.replace(tzinfo=None)),
    ]
    assert usage_mart.rows("SELECT country_code, record_source FROM dim_country ORDER BY country_code") == [
        ("", "System.DefaultMember"), ("DE", "System.DefaultKey"), ("US", "ref.catalog.countries")]
    assert usage_mart.rows("SELECT currency_code FROM dim_currency ORDER BY 1") == [("EUR",), ("USD",)]
    statuses = {result.test: result.status for result in outcome.tests}
    assert statuses["catalog_lag"] is Status.WARN
    assert all(result.status is Status.PASS for result in outcome.tests if result.test != "catalog_lag")


def test_restatements_closing_and_redelivery_in_a_later_batch(usage_mart: Mart) -> None:
    land_batch_1(usage_mart)
    usage_mart.batch()
    land_batch_2(usage_mart)
    outcome = usage_mart.batch()

    assert outcome.report.mode == "incremental"
    assert usage_mart.rows(FACT_BY_CODES) == [
        ("C1", "P1", "BASIC", date(2026, 3, 1), "US", "USD", 100.0, 80.0, 20.0,
         d("0.5"), d("50"), d("40"), d("10"), 0.2),
        ("C1", "P1", "BASIC", date(2026, 3, 2), "US", "USD", 120.0, 80.0, 40.0,
         d("0.6"), d("72"), d("48"), d("24"), 0.333333),
        ("C1", "P1", "PRO", date(2026, 3, 2), "US", "USD", 50.0, 100.0, 0.0, d("0.4"), d("20"), d("20"), d("0"), 0.0),
        ("C9", "P2", "BASIC", date(2026, 3, 1), "DE", "USD", 10.0, 0.0, 10.0, d("2"), d("20"), d("0"), d("20"), 1.0),
        ("C9", "P2", "BASIC", date(2026, 3, 2), "", "USD", 30.0, 0.0, 30.0, d("2"), d("60"), d("0"), d("60"), 1.0),
    ]
    fact = next(model for model in outcome.report.models if model.model == "fact_usage")
    assert (fact.action, fact.partitions, fact.rows) == (Action.PARTITIONS, 2, 5)


def test_a_code_two_batches_late_is_promoted_without_moving_or_losing_facts(usage_mart: Mart) -> None:
    land_batch_1(usage_mart)
    usage_mart.batch()
    land_batch_2(usage_mart)
    usage_mart.batch()
    facts_before = usage_mart.rows("SELECT * FROM fact_usage ORDER BY report_date, customer_key, product_key, plan_key")
    (key,), = usage_mart.rows("SELECT customer_key FROM dim_customer WHERE customer_code = 'C9'")
    land_batch_3(usage_mart)
    outcome = usage_mart.batch()

    assert usage_mart.rows("SELECT customer_key, customer_name, segment, record_source, first_seen_at FROM dim_customer "
                     "WHERE customer_code = 'C9'") == [
        (key, "Nine Ltd", "ENT", "ref.catalog.customers", BATCH_1.replace(tzinfo=None))]
    assert usage_mart.rows("SELECT count() FROM dim_customer WHERE record_source = 'System.DefaultKey'") == [(0,)]
    assert usage_mart.rows("SELECT * FROM fact_usage ORDER BY report_date, customer_key, product_key, plan_key") \
        == facts_before
    assert usage_mart.rows(f"SELECT count() FROM fact_usage WHERE customer_key = {key}") == [(2,)]
    actions = {model.model: model.action for model in outcome.report.models}
    assert actions["dim_customer"] is Action.REBUILT
    assert actions["fact_usage"] is Action.SKIPPED
    lagging = next(result for result in outcome.tests if result.test == "catalog_lag")
    assert [(row["catalog"], row["code"]) for row in lagging.sample] == [("countries", "DE")]


def test_an_unknown_currency_and_missing_prices_fail_their_data_tests(usage_mart: Mart) -> None:
    landing = usage_mart.landing
    landing.catalog("currencies", "USD", "US Dollar")
    landing.price("P1", "", "2026-01-01", "1.00", currency="XXX")
    landing.price("P2", "", "2026-01-01", "1.00")
    for day in ("2026-03-01", "2026-03-02"):
        landing.usage("C1", "P1", "BASIC", day, 10)
        landing.usage("C1", "P2", "BASIC", day, 10)
        landing.usage("C1", "P3", "BASIC", day, 10)
    outcome = usage_mart.batch()

    results = {result.test: result for result in outcome.tests}
    currency = results["currency_closed_domain"]
    assert currency.status is Status.FAIL
    assert [(row["currency_code"], row["product_code"]) for row in currency.sample] == [("XXX", "P1")]
    assert results["fact_usage.relationships(currency_key -> dim_currency.currency_key)"].status is Status.FAIL
    coverage = results["pricing_coverage"]
    assert coverage.status is Status.FAIL
    assert [(row["product_code"], row["unpriced_rows"], row["coverage_percent"]) for row in coverage.sample] == [
        ("P3", 2, 66.67)]
    assert usage_mart.rows("SELECT count(), countIf(unit_price IS NULL), countIf(currency_key IS NULL) FROM fact_usage") \
        == [(6, 2, 2)]


def test_default_billing_currency_applies_where_the_price_book_names_none(usage_mart: Mart) -> None:
    land_batch_1(usage_mart)
    usage_mart.settings = usage_mart.settings.model_copy(update={"default_billing_currency": "EUR"})
    usage_mart.batch()

    assert usage_mart.rows("SELECT DISTINCT p.product_code, cu.currency_code FROM fact_usage AS f "
                     "INNER JOIN dim_product AS p ON p.product_key = f.product_key "
                     "INNER JOIN dim_currency AS cu ON cu.currency_key = f.currency_key ORDER BY 1") == [
        ("P1", "USD"), ("P2", "EUR")]
