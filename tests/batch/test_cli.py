"""`usagemart batch run` and `usagemart check` on a test database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.batch.conftest import Mart
from usagemart.cli import app

pytestmark = pytest.mark.integration


def invoke(mart: Mart, *args: str) -> tuple[int, str]:
    target = mart.target
    url = f"http://{target.username}:{target.password}@{target.host}:{target.port}/{target.database}"
    result = CliRunner().invoke(app, list(args), env={"CLICKHOUSE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


def test_batch_run_prints_each_model(mart: Mart) -> None:
    code, output = invoke(mart, "batch", "run")

    assert code == 0, output
    assert "(full)" in output and "fact_usage" in output and "rebuilt" in output


def test_batch_run_refuses_to_without_from(mart: Mart) -> None:
    code, _ = invoke(mart, "batch", "run", "--to", "2026-03-01")

    assert code == 2


def test_check_fails_on_an_unknown_currency_and_shows_it(mart: Mart) -> None:
    mart.landing.catalog("currencies", "USD", "US Dollar")
    mart.landing.price("P1", "", "2026-01-01", "1.00", currency="XXX")
    mart.landing.usage("C1", "P1", "BASIC", "2026-03-01", 10)
    mart.batch()

    code, output = invoke(mart, "check")

    assert code == 1
    assert "currency_closed_domain" in output and "XXX" in output


def test_check_passes_with_warnings_only(mart: Mart) -> None:
    mart.landing.catalog("currencies", "USD", "US Dollar")
    mart.landing.price("P1", "", "2026-01-01", "1.00")
    mart.landing.usage("C1", "P1", "BASIC", "2026-03-01", 10)
    mart.batch()

    code, output = invoke(mart, "check")

    assert code == 0, output
    assert "catalog_lag" in output and "warn" in output
