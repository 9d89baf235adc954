"""`usagemart batch run` and `usagemart check` on a test database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.batch.conftest import Mart
from usagemart.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def usage_mart_models_only(monkeypatch: pytest.MonkeyPatch, usage_mart: Mart) -> None:
    """The commands read the project with `load_project`: here, the usage mart's models only."""
    monkeypatch.setattr("batch.project.load_project", lambda: usage_mart.project)


def invoke(usage_mart: Mart, *args: str) -> tuple[int, str]:
    target = usage_mart.target
    url = f"http://{target.username}:{target.password}@{target.host}:{target.port}/{target.database}"
    result = CliRunner().invoke(app, list(args), env={"CLICKHOUSE_URL": url, "COLUMNS": "200"})
    return result.exit_code, result.output


def test_batch_run_prints_each_model(usage_mart: Mart) -> None:
    code, output = invoke(usage_mart, "batch", "run")

    assert code == 0, output
    assert "(full)" in output and "fact_usage" in output and "rebuilt" in output


def test_batch_run_refuses_to_without_from(usage_mart: Mart) -> None:
    code, _ = invoke(usage_mart, "batch", "run", "--to", "2026-03-01")

    assert code == 2


def test_check_fails_on_an_unknown_currency_and_shows_it(usage_mart: Mart) -> None:
    usage_mart.landing.catalog("currencies", "USD", "US Dollar")
    usage_mart.landing.price("P1", "", "2026-01-01", "1.00", currency="XXX")
    usage_mart.landing.usage("C1", "P1", "BASIC", "2026-03-01", 10)
    usage_mart.batch()

    code, output = invoke(usage_mart, "check")

    assert code == 1
    assert "currency_closed_domain" in output and "XXX" in output


def test_check_passes_with_warnings_only(usage_mart: Mart) -> None:
    usage_mart.landing.catalog("currencies", "USD", "US Dollar")
    usage_mart.landing.price("P1", "", "2026-01-01", "1.00")
    usage_mart.landing.usage("C1", "P1", "BASIC", "2026-03-01", 10)
    usage_mart.batch()

    code, output = invoke(usage_mart, "check")

    assert code == 0, output
    assert "catalog_lag" in output and "warn" in output
