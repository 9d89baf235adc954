"""Models, the project graph and the templating: pure functions, no engine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from batch.data_tests import load_data_tests
from batch.model import Kind, ModelError, read_model
from batch.project import load_project
from batch.template import TemplateError, in_list, literal, rename_relations, render

HEADER = '/* model\nkind = "{kind}"\ndescription = "A model."\n{extra}*/\n'


def write_model(directory: Path, name: str, sql: str, kind: str = "table", extra: str = "") -> Path:
    path = directory / f"{name}.sql"
    path.write_text(HEADER.format(kind=kind, extra=extra) + sql)
    return path


def test_the_usage_mart_models_load_in_dependency_order() -> None:
    project = load_project()
    order = list(project.models)

    for name, parents in project.upstream.items():
        assert all(order.index(parent) < order.index(name) for parent in parents)
    assert project.models["int__fact_usage_priced"].kind is Kind.VIEW
    assert project.models["fact_usage"].kind is Kind.INCREMENTAL_BY_PARTITION
    assert {"dim_customer", "dim_product", "dim_plan", "dim_country", "dim_currency"} <= set(order)
    assert project.inputs(["raw_product_usage", "raw_pricebook", "fact_usage"])["stg_product_usage"] == {
        "raw_product_usage"}


def test_every_declared_test_has_a_template_and_every_test_file_a_header() -> None:
    names = {test.name for test in load_data_tests(load_project())}

    assert "fact_usage.unique(customer_key, product_key, plan_key, report_date)" in names
    assert "fact_usage.relationships(currency_key -> dim_currency.currency_key)" in names
    assert {"pricing_coverage", "currency_closed_domain", "catalog_lag"} <= names


def test_metadata_is_read_from_the_header(tmp_path: Path) -> None:
    path = write_model(tmp_path, "facts", "SELECT 1 AS d", kind="incremental_by_partition",
                       extra='partition_by = "d"\ntime_column = "d"\ngrain = ["d"]\n'
                             '[tests]\nrelationships = { d = "dims.d" }\n')
    model = read_model(path)

    assert (model.name, model.kind, model.meta.sorting_key, model.sql) == (
        "facts", Kind.INCREMENTAL_BY_PARTITION, ("d",), "SELECT 1 AS d")
    assert [(link.column, link.model, link.to_column) for link in model.meta.tests.relationships] == [
        ("d", "dims", "d")]


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT 1", "start with a `/\\* model` block"),
    ('/* model\nkind = "nope"\ndescription = "x"\n*/\nSELECT 1', "kind"),
    ('/* model\nkind = "table"\ndescription = "x"\ncolour = "red"\n*/\nSELECT 1', "colour"),
    ('/* model\nkind = "incremental_by_partition"\ndescription = "x"\n*/\nSELECT 1', "partition_by"),
    ('/* model\nkind = "table"\ndescription = "x"\n[tests]\nrelationships = { a = "b" }\n*/\nSELECT 1',
     "model.column"),
    ('/* model\nkind = "table"\n*/\nSELECT 1', "description"),
])
def test_a_bad_model_file_names_itself_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.sql"
    path.write_text(text)

    with pytest.raises(ModelError, match=message) as error:
        read_model(path)
    assert str(path) in str(error.value)


def test_dependencies_come_from_the_sql_and_cycles_are_refused(tmp_path: Path) -> None:
    write_model(tmp_path, "a", "SELECT * FROM raw_things -- b is only mentioned here\nWHERE x != 'b'")
    write_model(tmp_path, "b", "SELECT * FROM a")
    assert load_project(tmp_path).upstream == {"a": (), "b": ("a",)}

    write_model(tmp_path, "a", "SELECT * FROM b")
    with pytest.raises(ModelError, match="cycle"):
        load_project(tmp_path)


def test_a_selection_holds_its_targets_and_what_they_read_and_skips_tests_of_the_rest(tmp_path: Path) -> None:
    models, checks = tmp_path / "models", tmp_path / "checks"
    models.mkdir()
    write_model(models, "a", "SELECT 1 AS x")
    write_model(models, "b", "SELECT * FROM a")
    write_model(models, "c", "SELECT * FROM a")
    (checks / "generic").mkdir(parents=True)
    for name, sql in (("reads_b", "SELECT * FROM b"), ("reads_c", "SELECT * FROM c")):
        (checks / f"{name}.sql").write_text(f'/* check\ndescription = "{name}"\n*/\n{sql}\n')

    selected = load_project(models).select(["b"])

    assert (list(selected.models), selected.left_out) == (["a", "b"], frozenset({"c"}))
    assert [test.name for test in load_data_tests(selected, checks)] == ["reads_b"]
    with pytest.raises(ModelError, match="nope"):
        selected.select(["nope"])


def test_a_change_upstream_changes_every_fingerprint_downstream(tmp_path: Path) -> None:
    write_model(tmp_path, "a", "SELECT 1 AS x")
    write_model(tmp_path, "b", "SELECT * FROM a")
    write_model(tmp_path, "c", "SELECT {{ default_billing_currency }} AS currency")
    before = load_project(tmp_path).fingerprints({"default_billing_currency": "'USD'"})

    write_model(tmp_path, "a", "SELECT 2 AS x")
    after = load_project(tmp_path).fingerprints({"default_billing_currency": "'EUR'"})

    assert {name for name in before if before[name] != after[name]} == {"a", "b", "c"}
    assert load_project(tmp_path).fingerprints({"default_billing_currency": "'EUR'", "unused": "1"}) == after


def test_render_fills_holes_and_refuses_unknown_ones() -> None:
    assert render("SELECT {{ a }}, {{b}}", {"a": "1", "b": "'x'"}) == "SELECT 1, 'x'"
    with pytest.raises(TemplateError, match="missing"):
        render("SELECT {{ missing }}", {"a": "1"})


def test_relations_are_renamed_outside_strings_comments_and_longer_words() -> None:
    sql = "SELECT fact_usage.x, 'fact_usage' FROM fact_usage -- fact_usage\nJOIN fact_usage_daily USING (x)"

    assert rename_relations(sql, {"fact_usage": "fact_usage__next_0"}) == (
        "SELECT fact_usage__next_0.x, 'fact_usage' FROM fact_usage__next_0 -- fact_usage\n"
        "JOIN fact_usage_daily USING (x)")


def test_literals_keep_milliseconds_and_empty_lists_match_nothing() -> None:
    assert literal(datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)) == (
        "toDateTime64('2026-03-01 10:00:00.123', 3, 'UTC')")
    assert in_list("report_date", [date(2026, 3, 1), date(2026, 3, 2)]) == (
        "(report_date) IN ('2026-03-01', '2026-03-02')")
    assert in_list("report_date", []) == "0"
