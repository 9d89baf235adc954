"""Micro-batch speed: a one-day incremental batch over 365 days of history versus 7, and a full rebuild.

    python bench/batch_incremental.py [--rows-per-day 27400] [--batches 3] [--days 7 365]

History is generated in the engine (INSERT ... SELECT from numbers()) straight into the landing
tables, shaped as the sink writes them: product usage (customers x 5 products a day, 1% of rows
CLOSED), the five catalogs (the last three customers never published) and a price book with a
mid-range price change and a plan-specific price. For each history length the marts are built
by a full batch (timed: the full rebuild), then one more day of usage lands and an incremental
batch runs, once to warm up and `--batches` times timed (the median is reported). With 27,400
rows a day, 365 days is 10.0M usage rows. Runs on the embedded endpoint in a temporary
directory, or on CLICKHOUSE_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from clickhouse_connect.driver.client import Client

from batch.project import load_project
from batch.runner import BatchOptions, BatchOutcome, run_batch
from clickhouse.client import connect, ensure_database
from clickhouse.endpoint import endpoint_service
from clickhouse.migrate import migrate
from streams.landing import LANDING_COLUMNS, landing_table, record_json
from usagemart.processes import free_port
from usagemart.settings import ClickHouseTarget, Settings, load_settings

PRODUCTS = ("API-CALLS", "STORAGE-GB", "COMPUTE-HRS", "SEATS", "SUPPORT-HRS")
PLANS = ("FREE", "STARTER", "PRO", "ENTERPRISE")
COUNTRIES = ("US", "DE", "GB", "FR", "JP", "IN", "BR", "CA", "AU", "NL")
USAGE_MART = load_project().select(["fact_usage", "dim_customer", "dim_product", "dim_plan", "dim_country",
                                     "dim_currency"])
"""The models measured: the usage mart and what it reads (the other marts have no data here)."""
LAST_DAY = date(2026, 3, 31)
UNPUBLISHED_CUSTOMERS = 3

# One usage row per (customer, product) and day; a customer's plan and country follow from its number.
USAGE_INSERT = """
INSERT INTO raw_product_usage (natural_key, record, schema_ref, source, poll_run_id, fetched_at, kafka_topic,
                               kafka_partition, kafka_offset)
SELECT
    concat(customer, '|', product, '|', plan, '|', country, '|', toString(day)),
    concat('{{"customer_code":"', customer, '","product_code":"', product, '","plan_code":"', plan,
           '","country_code":"', country, '","report_date":"', toString(day), '","units_used":', toString(units),
           ',"included_units":', toString(included), ',"status":"', status, '","updated_at":"',
           formatDateTime(updated_at, '%Y-%m-%dT%H:%i:%S.000Z'), '","raw_json":"{{}}"}}'),
    'raw.product.usage/v1', 'product', 'bench', updated_at + INTERVAL 5 MINUTE, 'raw.product.usage',
    number % 6, {first_offset} + number
FROM
(
    SELECT
        number,
        toDate('{first_day}') + intDiv(number, {rows_per_day}) AS day,
        intDiv(number % {rows_per_day}, {products}) AS customer_number,
        concat('CUST-', leftPad(toString(customer_number), 5, '0')) AS customer,
        {product_array}[number % {products} + 1] AS product,
        {plan_array}[customer_number % {plans} + 1] AS plan,
        {country_array}[customer_number % {countries} + 1] AS country,
        toFloat64(50 + cityHash64(number, day) % 1000) AS units,
        toFloat64(200 * (customer_number % {plans})) AS included,
        if(cityHash64(number, day, 'status') % 100 = 0, 'CLOSED', 'OPEN') AS status,
        toDateTime64(day + 1, 3, 'UTC') + INTERVAL 3 HOUR AS updated_at
    FROM numbers({rows})
)
SETTINGS max_partitions_per_insert_block = 0
"""

CUSTOMERS_INSERT = """
INSERT INTO raw_catalog_customers (natural_key, record, schema_ref, source, poll_run_id, fetched_at, kafka_topic,
                                   kafka_partition, kafka_offset)
SELECT code,
    concat('{{"code":"', code, '","name":"Customer ', toString(number), '","attributes":{{"segment":"',
           ['SMB', 'MID', 'ENT'][number % 3 + 1], '"}},"updated_at":"2025-01-01T00:00:00.000Z","raw_json":"{{}}"}}'),
    'ref.catalog.customers/v1', 'product', 'bench', toDateTime64('2025-01-01 00:00:00', 3, 'UTC'),
    'ref.catalog.customers', 0, number
FROM (SELECT number, concat('CUST-', leftPad(toString(number), 5, '0')) AS code FROM numbers({published}))
"""


@dataclass(frozen=True)
class Measurement:
    """One history length: the full rebuild and the incremental batches after it."""

    days: int
    usage_rows: int
    full_seconds: float
    batch_seconds: list[float]
    model_seconds: list[float]
    test_seconds: list[float]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-per-day", type=int, default=27_400)
    parser.add_argument("--batches", type=int, default=3, help="incremental batches per history length")
    parser.add_argument("--days", type=int, nargs="+", default=[7, 365], help="history lengths")
    args = parser.parse_args()
    settings = load_settings(default_billing_currency="USD")
    with clickhouse() as base:
        results = [measure(base, settings, days, args.rows_per_day, args.batches) for days in args.days]
    report(results)


@contextmanager
def clickhouse() -> Iterator[ClickHouseTarget]:
    """CLICKHOUSE_URL, or an embedded endpoint in a temporary directory."""
    if os.environ.get("CLICKHOUSE_URL"):
        yield ClickHouseTarget(os.environ["CLICKHOUSE_URL"])
        return
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as directory:
        port = free_port()
        service = endpoint_service(Path(directory) / "data", Path(directory) / "run", port=port)
        service.start()
        try:
            yield ClickHouseTarget(f"http://127.0.0.1:{port}/bench")
        finally:
            service.stop()


def measure(base: ClickHouseTarget, settings: Settings, days: int, rows_per_day: int, batches: int) -> Measurement:
    """Build `days` of history in a fresh database, then time `batches` one-day incremental batches."""
    target = ClickHouseTarget(f"http://{base.username}:{base.password}@{base.host}:{base.port}/"
                              f"bench_{days}d_{uuid.uuid4().hex[:6]}")
    ensure_database(target)
    with connect(target) as client:
        migrate(client)
        first_day = LAST_DAY - timedelta(days=days - 1)
        land_reference(client, rows_per_day // len(PRODUCTS), first_day)
        land_usage(client, first_day, days, rows_per_day, first_offset=0)
        started = time.perf_counter()
        run(client, settings, full=True)
        full_seconds = time.perf_counter() - started
        print(f"{days} days: {days * rows_per_day:,} usage rows, full rebuild {full_seconds:.1f} s", flush=True)
        walls, models, tests = [], [], []
        # Batch 0 warms the engine up (expression compilation, caches) and is not counted: without
        # it, whichever history length runs first looks slower.
        for extra in range(batches + 1):
            land_usage(client, LAST_DAY + timedelta(days=extra + 1), 1, rows_per_day,
                       first_offset=(days + extra + 1) * rows_per_day)
            started = time.perf_counter()
            outcome = run(client, settings)
            wall = time.perf_counter() - started
            model_seconds = sum(model.seconds for model in outcome.report.models)
            test_seconds = sum(result.seconds for result in outcome.tests)
            print(f"  one-day batch {extra}: {wall:.2f} s (models {model_seconds:.2f} s, tests {test_seconds:.2f} s)"
                  f"{' warm-up' if extra == 0 else ''}", flush=True)
            if extra:
                walls.append(wall)
                models.append(model_seconds)
                tests.append(test_seconds)
        client.command(f"DROP DATABASE `{target.database}` SYNC")
    return Measurement(days, days * rows_per_day, full_seconds, walls, models, tests)


def run(client: Client, settings: Settings, *, full: bool = False) -> BatchOutcome:
    """A batch of the usage mart's models that sees everything landed so far."""
    return run_batch(client, settings, BatchOptions(full=full, settle=timedelta(0)), USAGE_MART)


def land_usage(client: Client, first_day: date, days: int, rows_per_day: int, first_offset: int) -> None:
    """`days` days of usage from `first_day`, `rows_per_day` rows a day."""
    client.command(USAGE_INSERT.format(
        first_day=first_day.isoformat(), rows=days * rows_per_day, rows_per_day=rows_per_day,
        first_offset=first_offset, products=len(PRODUCTS), plans=len(PLANS), countries=len(COUNTRIES),
        product_array=_array(PRODUCTS), plan_array=_array(PLANS), country_array=_array(COUNTRIES)))


def land_reference(client: Client, customers: int, first_day: date) -> None:
    """The catalogs and the price book."""
    client.command(CUSTOMERS_INSERT.format(published=customers - UNPUBLISHED_CUSTOMERS))
    catalogs = {"products": PRODUCTS, "plans": PLANS, "countries": COUNTRIES, "currencies": ("USD", "EUR")}
    for name, codes in catalogs.items():
        _land(client, f"ref.catalog.{name}", [
            {"code": code, "name": code.title(), "attributes": {}, "updated_at": "2025-01-01T00:00:00.000Z",
             "raw_json": "{}"} for code in codes])
    long_ago = (first_day - timedelta(days=365)).isoformat()
    middle = (first_day + (LAST_DAY - first_day) / 2).isoformat()
    prices = [("API-CALLS", "", long_ago, "0.0004", "USD"), ("API-CALLS", "", middle, "0.0005", "USD"),
              ("API-CALLS", "ENTERPRISE", long_ago, "0.00032", "USD"), ("STORAGE-GB", "", long_ago, "0.023", "USD"),
              ("COMPUTE-HRS", "", long_ago, "0.35", "USD"), ("SEATS", "", long_ago, "12", None),
              ("SUPPORT-HRS", "", long_ago, "95", "EUR")]
    _land(client, "ref.pricebook", [
        {"product_code": product, "plan_code": plan, "effective_date": effective, "unit_price": price,
         "currency_code": currency, "raw_json": "{}"} for product, plan, effective, price, currency in prices])


def _land(client: Client, topic: str, records: list[dict[str, object]]) -> None:
    fetched_at = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [[str(index), record_json(record), f"{topic}/v1", "product", "bench", fetched_at, topic, 0, index]
            for index, record in enumerate(records)]
    client.insert(landing_table(topic), rows, column_names=list(LANDING_COLUMNS))


def _array(values: tuple[str, ...]) -> str:
    return json.dumps(list(values)).replace('"', "'")


def report(results: list[Measurement]) -> None:
    """The figures, and the 365-vs-7-day ratio when both were measured."""
    print("\nhistory  usage rows   full rebuild   one-day batch (median)   models   tests")
    for m in results:
        batch, models, tests = (statistics.median(values) for values in (m.batch_seconds, m.model_seconds,
                                                                          m.test_seconds))
        print(f"{m.days:>5} d  {m.usage_rows:>11,}  {m.full_seconds:>10.1f} s  {batch:>20.2f} s  "
              f"{models:>5.2f} s  {tests:>4.2f} s")
    by_days = {m.days: m for m in results}
    if 7 in by_days and 365 in by_days:
        short, long = by_days[7], by_days[365]
        ratio = statistics.median(long.batch_seconds) / statistics.median(short.batch_seconds)
        models_ratio = statistics.median(long.model_seconds) / statistics.median(short.model_seconds)
        print(f"one-day batch, 365 d / 7 d: {ratio:.2f} (models alone {models_ratio:.2f}); target <= 1.5")


if __name__ == "__main__":
    main()
