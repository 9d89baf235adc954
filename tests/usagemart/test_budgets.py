"""Budgets files: the demo's, every validation error naming its line, and `usagemart budgets load` publishing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.simulator.world import World
from tests.streams.topic_reader import read_topic
from usagemart.budgets import DEMO_BUDGETS, BudgetFileError, read_budgets
from usagemart.cli import app

HEADER = "budget_id,scope,scope_value,members,monthly_amount,currency,thresholds_pct,owner_email,active\n"
GOOD_ROW = "b1,person,Ada@Example.com,,100,,,,\n"


def budgets_file(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "budgets.csv"
    path.write_text(header + "".join(rows))
    return path


def test_demo_budgets_cover_every_scope_and_name_people_of_the_demo_world() -> None:
    budgets = read_budgets(DEMO_BUDGETS)
    assert {budget["scope"] for budget in budgets} == {"person", "team", "platform"}
    # The demo's simulator serves the seed-7 world: budgets of anyone else would never be spent.
    emails = {person.email for person in World(seed=7).people}
    named = {email for budget in budgets for email in budget["members"] or [budget["scope_value"]]
             if budget["scope"] != "platform"}
    assert named <= emails


def test_defaults_and_normalisation(tmp_path: Path) -> None:
    (budget,) = read_budgets(budgets_file(tmp_path, GOOD_ROW), default_currency="EUR")
    assert budget["scope_value"] == "ada@example.com"
    assert budget["monthly_amount"] == Decimal("100.00") and budget["currency"] == "EUR"
    assert budget["thresholds_pct"] == [50, 80, 100] and budget["active"] is True and budget["owner_email"] is None
    (team,) = read_budgets(budgets_file(tmp_path, "t,team,Robots,A@x.io; b@x.io ,99.5,usd,100;50,,false\n"))
    assert team["members"] == ["a@x.io", "b@x.io"] and team["thresholds_pct"] == [50, 100]
    assert team["currency"] == "USD" and team["active"] is False


@pytest.mark.parametrize(("row", "message"), [
    ("b2,org,acme,,100,,,,\n", "scope must be one of person, team, platform, got 'org'"),
    ("b2,team,Robots,,100,,,,\n", "members are required for a team and only for a team"),
    ("b2,person,a@x.io,b@x.io,100,,,,\n", "members are required for a team and only for a team"),
    ("b2,person,not-an-email,,100,,,,\n", "scope_value must be an email address, got 'not-an-email'"),
    ("b2,platform,copilot,,100,,,,\n", "scope_value is one of anthropic_api, claude_code, cursor"),
    ("b2,platform,cursor,,-5,,,,\n", "monthly_amount must be positive with at most 2 decimals"),
    ("b2,platform,cursor,,1.005,,,,\n", "monthly_amount must be positive with at most 2 decimals"),
    ("b2,platform,cursor,,lots,,,,\n", "monthly_amount must be a number, got 'lots'"),
    ("b2,platform,cursor,,100,dollars,,,\n", "currency must be a 3-letter ISO 4217 code"),
    ("b2,platform,cursor,,100,,80;eighty,,\n", "thresholds_pct must be percentages from 1 to 1000"),
    ("b2,platform,cursor,,100,,,,maybe\n", "active must be true or false, got 'maybe'"),
    ("b2,platform,,,100,,,,\n", "scope_value is empty"),
    ("b1,platform,cursor,,100,,,,\n", "budget_id repeated: b1"),
])
def test_a_bad_row_names_the_file_line_and_cell(tmp_path: Path, row: str, message: str) -> None:
    path = budgets_file(tmp_path, GOOD_ROW, row)
    with pytest.raises(BudgetFileError) as error:
        read_budgets(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "line 3" in str(error.value) or "repeated" in message


def test_missing_columns_are_named(tmp_path: Path) -> None:
    with pytest.raises(BudgetFileError, match="missing columns monthly_amount"):
        read_budgets(budgets_file(tmp_path, "b1,person,a@x.io\n", header="budget_id,scope,scope_value\n"))


def test_load_publishes_every_budget_keyed_by_id(tmp_path: Path, kafka_bootstrap: str) -> None:
    ids = [f"load-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    path = budgets_file(tmp_path, f"{ids[0]},platform,cursor,,250,,,,\n",
                        f"{ids[1]},team,Robots,a@x.io;b@x.io,400,,50;90,a@x.io,\n")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "USAGEMART_HOME": str(tmp_path)}
    result = CliRunner().invoke(app, ["budgets", "load", str(path)], env=env)
    assert result.exit_code == 0, result.output
    assert "published 2 budgets to ref.budgets" in result.output
    published = {record.key: record.value for record in read_topic(kafka_bootstrap, "ref.budgets")
                 if record.key in ids}
    assert published[ids[1]]["members"] == ["a@x.io", "b@x.io"] and published[ids[1]]["thresholds_pct"] == [50, 90]
    assert published[ids[0]]["monthly_amount"] == Decimal("250.00")


def test_load_of_a_bad_file_exits_2_with_one_line(tmp_path: Path) -> None:
    path = budgets_file(tmp_path, "b1,org,acme,,100,,,,\n")
    result = CliRunner().invoke(app, ["budgets", "load", str(path)], env={"USAGEMART_HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert "line 2: scope must be one of person, team, platform" in " ".join(result.output.split())
