"""Incremental batches against the real engine: idempotence, incremental equals full, exact re-pricing,
atomic failure, forced date ranges, and the run history."""

from __future__ import annotations

import shutil
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from batch import state
from batch.project import MODELS_DIR, load_project
from batch.run_report import Action, BatchReport
from batch.runner import BatchError, BatchOutcome, run_on_schedule
from tests.batch.conftest import MART_TABLES, Mart
from tests.batch.test_usage_mart import land_batch_1, land_batch_2, land_batch_3

pytestmark = pytest.mark.integration

DAYS = ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05")


def actions(report: BatchReport) -> dict[str, Action]:
    return {model.model: model.action for model in report.models}


def land_five_days(usage_mart: Mart) -> None:
    landing = usage_mart.landing
    landing.price("P1", "", "2026-01-01", "0.50")
    landing.price("P1", "", "2026-03-02", "0.60")
    landing.price("P1", "", "2026-03-04", "0.70")
    landing.price("P1", "PRO", "2026-01-01", "0.40")
    landing.price("P2", "", "2026-01-01", "2.00")
    for day in DAYS:
        landing.usage("C1", "P1", "BASIC", day, 100)
        landing.usage("C1", "P1", "PRO", day, 100)
        landing.usage("C1", "P2", "BASIC", day, 10)


def test_a_batch_with_nothing_new_changes_nothing(usage_mart: Mart) -> None:
    land_batch_1(usage_mart)
    usage_mart.batch()
    land_batch_2(usage_mart)
    usage_mart.batch()
    before, parts = usage_mart.snapshot(), usage_mart.part_names("fact_usage")

    outcome = usage_mart.batch()

    assert set(actions(outcome.report).values()) <= {Action.SKIPPED, Action.UNCHANGED}
    assert usage_mart.snapshot() == before
    assert usage_mart.part_names("fact_usage") == parts
    # Only the cross-model tests run: a model's own tests run when a batch changes it.
    assert {result.test for result in outcome.tests} == {
        "catalog_lag", "currency_closed_domain", "pricebook_unit_prices", "pricing_coverage", "usage_status"}


def test_incremental_batches_equal_a_full_rebuild(usage_mart: Mart) -> None:
    for land in (land_batch_1, land_batch_2, land_batch_3):
        land(usage_mart)
        usage_mart.batch()
    usage_mart.landing.redeliver("raw.product.usage", 3)
    usage_mart.batch()
    incremental = usage_mart.snapshot()

    report = usage_mart.batch(full=True).report

    assert report.mode == "full"
    assert set(actions(report).values()) <= {Action.REBUILT, Action.DEFINED}
    assert usage_mart.snapshot() == incremental


def test_a_price_change_re_prices_exactly_the_affected_partitions(usage_mart: Mart) -> None:
    land_five_days(usage_mart)
    usage_mart.batch()
    parts = usage_mart.part_names("fact_usage")

    # Restating the 03-02 price for every plan re-prices BASIC on 03-02 and 03-03 (03-04 has a
    # newer price, PRO has its own): exactly two partitions.
    usage_mart.landing.price("P1", "", "2026-03-02", "0.65")
    report = usage_mart.batch().report

    fact = next(model for model in report.models if model.model == "fact_usage")
    assert (fact.action, fact.partitions) == (Action.PARTITIONS, 2)
    after = usage_mart.part_names("fact_usage")
    assert {partition for partition in parts if after[partition] != parts[partition]} == {"20260302", "20260303"}
    assert usage_mart.rows("SELECT toString(report_date), unit_price FROM fact_usage AS f "
                     "INNER JOIN dim_plan AS p ON p.plan_key = f.plan_key "
                     "INNER JOIN dim_product AS pr ON pr.product_key = f.product_key "
                     "WHERE pr.product_code = 'P1' AND p.plan_code = 'BASIC' ORDER BY 1") == [
        (day, Decimal(price)) for day, price in zip(DAYS, ["0.5", "0.65", "0.65", "0.7", "0.7"], strict=True)]


def test_a_price_no_usage_needs_touches_nothing(usage_mart: Mart) -> None:
    land_five_days(usage_mart)
    usage_mart.batch()

    usage_mart.landing.price("P1", "ENTERPRISE", "2026-01-01", "0.10")
    report = usage_mart.batch().report

    assert actions(report)["int__resolved_prices"] is Action.UNCHANGED
    assert actions(report)["fact_usage"] is Action.SKIPPED


def test_a_failed_batch_publishes_nothing_and_keeps_the_watermark(usage_mart: Mart, tmp_path: Path) -> None:
    land_batch_1(usage_mart)
    usage_mart.batch()
    before, watermark = usage_mart.snapshot(), state.watermark(usage_mart.client)
    land_batch_2(usage_mart)
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    (models / "zz_broken.sql").write_text(
        '/* model\nkind = "table"\ndescription = "Fails after everything else was built."\n*/\n'
        "SELECT throwIf(count() > 0, 'broken on purpose') AS never FROM fact_usage\n")

    with pytest.raises(BatchError, match="zz_broken"):
        usage_mart.batch(project=load_project(models).select([*MART_TABLES, "zz_broken"]))

    assert usage_mart.snapshot() == before
    assert state.watermark(usage_mart.client) == watermark
    assert usage_mart.rows("SELECT status FROM batch_runs ORDER BY started_at") == [("success",), ("failed",)]
    assert usage_mart.rows("SELECT name FROM system.tables WHERE database = currentDatabase() "
                     "AND match(name, '__(build|delta|next)_')") == []
    usage_mart.batch()
    assert usage_mart.rows("SELECT sum(units_used) FROM fact_usage") == [(100.0 + 120 + 50 + 10 + 30,)]


def test_a_date_range_rebuilds_its_partitions_only(usage_mart: Mart) -> None:
    land_five_days(usage_mart)
    usage_mart.batch()
    before, parts = usage_mart.snapshot(), usage_mart.part_names("fact_usage")

    report = usage_mart.batch(dates=(date(2026, 3, 4), date(2026, 3, 5))).report

    fact = next(model for model in report.models if model.model == "fact_usage")
    assert (fact.action, fact.partitions, fact.rows) == (Action.PARTITIONS, 2, 6)
    after = usage_mart.part_names("fact_usage")
    assert {partition for partition in parts if after[partition] != parts[partition]} == {"20260304", "20260305"}
    assert usage_mart.snapshot() == before


def test_each_run_and_model_is_recorded(usage_mart: Mart) -> None:
    land_batch_1(usage_mart)
    report = usage_mart.batch().report

    assert usage_mart.rows(f"SELECT mode, status, error FROM batch_runs WHERE run_id = '{report.run_id}'") == [
        ("full", "success", "")]
    recorded = usage_mart.rows("SELECT model, action, rows, partitions FROM batch_model_runs "
                         f"WHERE run_id = '{report.run_id}' AND model = 'fact_usage'")
    assert recorded == [("fact_usage", "rebuilt", 5, 2)]
    assert len(usage_mart.rows(f"SELECT 1 FROM batch_model_runs WHERE run_id = '{report.run_id}'")) == len(report.models)
    assert usage_mart.rows(f"SELECT count() > 0 FROM batch_test_results WHERE run_id = '{report.run_id}'") == [(True,)]


def test_a_changed_model_is_rebuilt_in_full_with_what_reads_it(usage_mart: Mart, tmp_path: Path) -> None:
    land_five_days(usage_mart)
    usage_mart.batch()
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    refined = models / "usage" / "int__usage_refined.sql"
    refined.write_text(refined.read_text().replace("latest.5 AS updated_at", "latest.5 AS updated_at, 1 AS marker"))

    report = usage_mart.batch(project=load_project(models).select(MART_TABLES)).report

    assert actions(report)["int__usage_refined"] is Action.DEFINED
    assert actions(report)["fact_usage"] is Action.REBUILT
    assert actions(report)["dim_customer"] is Action.SKIPPED


def test_the_schedule_runs_batches_until_stopped(usage_mart: Mart) -> None:
    stop = threading.Event()
    outcomes: list[BatchOutcome] = []

    def seen(outcome: BatchOutcome) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 2:
            stop.set()

    run_on_schedule(usage_mart.client, usage_mart.settings, 0.01, stop, seen, usage_mart.project)

    assert [outcome.report.mode for outcome in outcomes] == ["full", "incremental"]
    assert all(outcome.report.succeeded for outcome in outcomes)
