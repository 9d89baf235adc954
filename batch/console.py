"""Batch reports and data test results, printed for people (the `usagemart batch` and `check` commands)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.table import Table

from batch.data_tests import Status, TestResult
from batch.run_report import Action, BatchReport
from batch.runner import BatchOutcome

_STATUS_STYLE = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.ERROR: "bold red"}
_NOTHING_WRITTEN = frozenset({Action.SKIPPED, Action.UNCHANGED, Action.VIEW})


def print_batch(console: Console, outcome: BatchOutcome) -> None:
    """The batch's window and per-model work, then the data tests that did not pass."""
    report = outcome.report
    console.print(f"batch {report.run_id[:8]} ({report.mode}): landed {_window(report)}")
    table = Table("model", "kind", "action", "rows", "partitions", "seconds")
    for model in report.models:
        style = "dim" if model.action in _NOTHING_WRITTEN else ""
        table.add_row(model.model, model.kind, str(model.action), _number(model.rows), _number(model.partitions),
                      f"{model.seconds:.3f}", style=style)
    console.print(table)
    print_tests(console, outcome.tests, all_tests=False)


def print_batch_line(console: Console, outcome: BatchOutcome) -> None:
    """One line per batch, for `batch schedule`; tests that did not pass follow it."""
    report = outcome.report
    built = [model for model in report.models if model.action not in _NOTHING_WRITTEN]
    actions = Counter(str(model.action) for model in built)
    work = ", ".join(f"{count} {action}" for action, count in sorted(actions.items())) or "nothing new"
    seconds = sum(model.seconds for model in report.models)
    console.print(f"batch {report.run_id[:8]} ({report.mode}) up to {_instant(report.watermark)}: {work} "
                  f"in {seconds:.2f} s; data tests: {_test_counts(outcome.tests)}", highlight=False)
    print_tests(console, outcome.tests, all_tests=False, summary=False)


def print_tests(console: Console, results: Sequence[TestResult], *, all_tests: bool = True,
                summary: bool = True) -> None:
    """A line per test (or per test that did not pass), their offending rows, and the counts."""
    shown = [result for result in results if all_tests or result.status is not Status.PASS]
    if shown:
        table = Table("test", "severity", "status", "rows", "seconds")
        for result in shown:
            table.add_row(result.test, str(result.severity), f"[{_STATUS_STYLE[result.status]}]{result.status}[/]",
                          str(result.failures), f"{result.seconds:.3f}")
        console.print(table)
    for result in shown:
        if result.status is not Status.PASS:
            _print_offending(console, result)
    if summary:
        console.print(f"data tests: {_test_counts(results)}", highlight=False)


def _print_offending(console: Console, result: TestResult) -> None:
    style = _STATUS_STYLE[result.status]
    if result.error:
        console.print(f"[{style}]{result.test}[/]: could not run: {result.error}", highlight=False)
        return
    more = f" (first {len(result.sample)} of {result.failures})" if result.failures > len(result.sample) else ""
    table = Table(*result.sample[0].keys(), title=f"[{style}]{result.test}[/]{more}", title_justify="left")
    for row in result.sample:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)


def _test_counts(results: Sequence[TestResult]) -> str:
    counts = Counter(result.status for result in results)
    return ", ".join(f"{counts[status]} {status}" for status in Status if counts[status]) or "none"


def _window(report: BatchReport) -> str:
    since = _instant(report.since) if report.since else "the beginning"
    return f"after {since} up to {_instant(report.watermark)} (UTC)"


def _instant(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"


def _number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
