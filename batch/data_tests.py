"""Data tests: queries that return the rows that break an expectation; none returned means it holds.

Generic tests come from model metadata (`grain` -> unique, `tests.not_null`,
`tests.relationships`) through the templates in `batch/checks/generic/`; other tests are SQL
files in `batch/checks/`, each with a `/* check` block (severity, description, model). An
`error` test that returns rows fails `usagemart check`; a `warn` test is shown, not failed.

`usagemart check` runs them all on everything. After a batch, a model's generic tests run only if
the batch changed it, and on a partitioned model only over the partitions it replaced (`{{ scope }}`):
the others were tested when they were built, and dimensions never lose a key the facts use.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError
from pydantic import BaseModel, ConfigDict, ValidationError

from batch.engine_adapter import error_summary
from batch.model import Model
from batch.project import Project
from batch.sql_file import SqlFileError, read_sql_file
from batch.template import ALL_ROWS, render, words

logger = logging.getLogger(__name__)

CHECKS_DIR = Path(__file__).parent / "checks"
HEADER_TAG = "check"
SAMPLE_ROWS = 10


class Severity(StrEnum):
    """What a test returning rows means."""

    ERROR = "error"
    WARN = "warn"


class Status(StrEnum):
    """A test's outcome."""

    PASS = "pass"
    FAIL = "fail"
    """An `error` test returned rows."""
    WARN = "warn"
    """A `warn` test returned rows."""
    ERROR = "error"
    """The test's query itself failed."""


class CheckMeta(BaseModel):
    """The `/* check` block of a data test file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    severity: Severity = Severity.ERROR
    model: str = ""
    """The model the test is about, for grouping ("" for one about several)."""


@dataclass(frozen=True)
class DataTest:
    """One data test: its query returns the offending rows."""

    name: str
    model: str
    severity: Severity
    description: str
    sql: str
    values: Mapping[str, str] = field(default_factory=dict)
    """Values of a generic test's holes (model, columns); empty for a test file."""

    @property
    def generic(self) -> bool:
        """True for a test declared in a model's metadata."""
        return bool(self.values)


@dataclass(frozen=True)
class TestResult:
    """The outcome of one data test."""

    test: str
    model: str
    severity: Severity
    status: Status
    failures: int
    sample: list[dict[str, object]]
    """Up to `SAMPLE_ROWS` of the offending rows."""
    error: str
    seconds: float

    @property
    def failed(self) -> bool:
        """True when it should fail `usagemart check`."""
        return self.status in (Status.FAIL, Status.ERROR)


def load_data_tests(project: Project, directory: Path = CHECKS_DIR) -> list[DataTest]:
    """The generic tests the project's models declare, then the test files in `directory` that read
    none of the models a selection left out."""
    templates = {path.stem: _read(path) for path in sorted((directory / "generic").glob("*.sql"))}
    tests = [test for model in project.models.values() for test in _declared(model, templates)]
    for path in sorted(directory.glob("*.sql")):
        meta, sql = _read(path)
        if not words(sql) & project.left_out:
            tests.append(DataTest(path.stem, meta.model, meta.severity, meta.description, sql))
    return tests


def run_data_tests(client: Client, tests: Sequence[DataTest], variables: Mapping[str, str], run_id: str,
                   scopes: Mapping[str, str] | None = None) -> list[TestResult]:
    """Run the tests, store the results under `run_id` and return them.

    With `scopes` (model -> the condition on its rows a batch changed), generic tests run only on
    those models and rows; without, every test runs on everything.
    """
    chosen = [(test, ALL_ROWS if scopes is None else scopes.get(test.model, ALL_ROWS)) for test in tests
              if scopes is None or not test.generic or test.model in scopes]
    results = [_run(client, test, {**variables, **test.values, "scope": scope}) for test, scope in chosen]
    _store(client, run_id, results)
    return results


def _read(path: Path) -> tuple[CheckMeta, str]:
    try:
        fields, sql = read_sql_file(path, HEADER_TAG)
        return CheckMeta.model_validate(fields), sql
    except ValidationError as error:
        first = error.errors()[0]
        raise SqlFileError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _declared(model: Model, templates: Mapping[str, tuple[CheckMeta, str]]) -> list[DataTest]:
    tests = model.meta.tests
    wanted: list[tuple[str, str, dict[str, str]]] = []
    if model.meta.grain:
        columns = ", ".join(model.meta.grain)
        wanted.append(("unique", f"unique({columns})", {"columns": columns}))
    wanted += [("not_null", f"not_null({column})", {"column": column}) for column in tests.not_null]
    wanted += [("relationships", f"relationships({link.column} -> {link.model}.{link.to_column})",
                {"column": link.column, "to_model": link.model, "to_column": link.to_column})
               for link in tests.relationships]
    declared = []
    for template, label, values in wanted:
        meta, sql = templates[template]
        declared.append(DataTest(f"{model.name}.{label}", model.name, meta.severity, meta.description, sql,
                                 {"model": model.name, **values}))
    return declared


def _run(client: Client, test: DataTest, values: Mapping[str, str]) -> TestResult:
    started = time.perf_counter()
    failures, sample, error = 0, [], ""
    try:
        sql = render(test.sql, values)
        failures = int(client.query(f"SELECT count() FROM ({sql})").result_rows[0][0])
        if failures:
            rows = client.query(f"SELECT * FROM ({sql}) LIMIT {SAMPLE_ROWS}")
            sample = [dict(zip(rows.column_names, row, strict=True)) for row in rows.result_rows]
    except ClickHouseError as exception:
        error = error_summary(exception)
        logger.error("data test %s could not run: %s", test.name, error)
    status = _status(test.severity, failures, error)
    return TestResult(test.name, test.model, test.severity, status, failures, sample, error,
                      round(time.perf_counter() - started, 3))


def _status(severity: Severity, failures: int, error: str) -> Status:
    if error:
        return Status.ERROR
    if not failures:
        return Status.PASS
    return Status.FAIL if severity is Severity.ERROR else Status.WARN


def _store(client: Client, run_id: str, results: Sequence[TestResult]) -> None:
    checked_at = datetime.now(UTC)
    rows = [[run_id, checked_at, r.test, r.model, str(r.severity), str(r.status), r.failures,
             "\n".join(json.dumps(row, default=str) for row in r.sample), r.error, r.seconds] for r in results]
    client.insert("batch_test_results", rows,
                  column_names=["run_id", "checked_at", "test", "model", "severity", "status", "failures", "sample",
                                "error", "seconds"])
