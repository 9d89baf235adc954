"""The micro-batch: build what changed since the watermark in staging, publish it all, advance the watermark.

One batch, top to bottom:
1. the window: landing rows with `since < ingested_at <= watermark`, `since` being the last
   successful batch's watermark;
2. every model in dependency order is skipped (nothing it reads changed) or built in staging;
3. once all are built, each is published (swaps, partition replacements, appends);
4. the run, its watermark and the models built in full are recorded;
5. the data tests run on the published marts and their results are stored.
A failure before 4 drops what was staged and records the run as failed: the published marts and
the watermark stay as they were, and the next batch processes the same window again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import reduce

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from batch import state
from batch.data_tests import TestResult, load_data_tests, run_data_tests
from batch.engine_adapter import EngineAdapter, error_summary
from batch.materialize import BUILDERS, NOTHING, Job, Stage, StagingNames, Touched, staging_pattern
from batch.model import Kind, Model
from batch.project import Project, load_project
from batch.run_report import Action, BatchReport, ModelReport
from batch.template import literal
from usagemart.settings import Settings

logger = logging.getLogger(__name__)

LANDING_SETTLE = timedelta(seconds=5)
"""A landing row's `ingested_at` is stamped when its insert starts but the row is visible only once
the insert commits; the window ends this far in the past so that an insert in flight is not skipped."""
STALE_STAGING = timedelta(hours=1)
"""Staging relations this old belong to a batch that died without cleaning up."""


class BatchError(RuntimeError):
    """A batch failed building (nothing was published) or publishing; the watermark did not move."""


@dataclass(frozen=True)
class BatchOptions:
    """How to run one batch."""

    full: bool = False
    """Rebuild every model whole, from all landed rows."""
    dates: tuple[date, date] | None = None
    """Also rebuild the partitions holding these report dates (first, last), whatever changed."""
    settle: timedelta = LANDING_SETTLE


@dataclass
class BatchOutcome:
    """A published batch and the data tests run after it."""

    report: BatchReport
    tests: list[TestResult] = field(default_factory=list)


def model_variables(settings: Settings) -> dict[str, str]:
    """The values of the `{{ holes }}` that do not change from batch to batch."""
    return {"default_billing_currency": literal(settings.default_billing_currency)}


def run_batch(client: Client, settings: Settings, options: BatchOptions = BatchOptions(),
              project: Project | None = None) -> BatchOutcome:
    """Run one batch; raise `BatchError` (after recording the failed run) if it fails."""
    project = project or load_project()
    adapter = EngineAdapter(client, settings.clickhouse_cluster)
    _drop_stale_staging(adapter)
    since = state.watermark(client)
    now = adapter.now()
    until = max(now - options.settle, since) if since else now - options.settle
    full = options.full or since is None
    report = BatchReport(run_id=uuid.uuid4().hex, mode="full" if full else "incremental", started_at=now,
                         since=None if full else since, watermark=until)
    variables = model_variables(settings)
    batch = _Batch(adapter, project, variables, report, full=full, forced=_forced(options.dates))
    try:
        batch.build_all()
        batch.publish_all()
    except Exception as error:
        report.error = str(error) if isinstance(error, BatchError) else f"{type(error).__name__}: {error}"
        logger.error("batch %s failed: %s", report.run_id, report.error)
        state.record_run(client, report)
        if isinstance(error, BatchError):
            raise
        raise BatchError(report.error) from error
    finally:
        batch.drop_staging()
    report.finished_at = adapter.now()
    # Were these lost, the next batch would redo this window: every step of it is idempotent.
    state.record_fingerprints(client, batch.built_in_full(), report.finished_at)
    state.record_run(client, report)
    logger.info("batch %s (%s) published up to %s", report.run_id, report.mode, report.watermark)
    tests = run_data_tests(client, load_data_tests(project), variables, report.run_id, batch.test_scopes())
    return BatchOutcome(report, tests)


def run_on_schedule(client: Client, settings: Settings, every: float, stop: threading.Event,
                    on_outcome: Callable[[BatchOutcome], None], project: Project | None = None) -> None:
    """Run a batch every `every` seconds until `stop` is set; a failed batch is logged and retried next time."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            on_outcome(run_batch(client, settings, project=project))
        except (BatchError, ClickHouseError) as error:
            # The watermark did not move: the next batch processes the same window.
            logger.error("batch failed, next one in %.0f s: %s", every, error_summary(error))
        stop.wait(max(0.0, every - (time.monotonic() - started)))


def _forced(dates: tuple[date, date] | None) -> Touched:
    if dates is None:
        return NOTHING
    first, last = dates
    return Touched(frozenset(first + timedelta(days=offset) for offset in range((last - first).days + 1)))


def _drop_stale_staging(adapter: EngineAdapter) -> None:
    for name in adapter.relations(staging_pattern(), older_than=STALE_STAGING):
        logger.warning("dropping %s, left behind by a batch that did not finish", name)
        adapter.drop(name)


class _Batch:
    """The models of one batch: built in staging in dependency order, then published."""

    def __init__(self, adapter: EngineAdapter, project: Project, variables: dict[str, str], report: BatchReport,
                 *, full: bool, forced: Touched) -> None:
        self.adapter = adapter
        self.project = project
        self.variables = variables
        self.report = report
        self.full = full
        self.forced = forced
        self.run = report.run_id[:8]
        self.fingerprints = project.fingerprints(variables)
        self.deployed = state.deployed_fingerprints(adapter.client)
        self.existing = set(adapter.relations(""))
        self.inputs = project.inputs(self.existing)
        self.changed_inputs = self._changed_inputs()
        self.stages: dict[str, Stage] = {}

    def build_all(self) -> None:
        for model in self.project.models.values():
            started = time.perf_counter()
            try:
                stage = self._build(model)
            except ClickHouseError as error:
                raise BatchError(f"building {model.name} ({model.path}) failed: {error_summary(error)}") from error
            seconds = time.perf_counter() - started
            if stage is None:
                self._report(model, Action.SKIPPED, None, None, seconds)
                continue
            stage.seconds = seconds
            if stage.changed:
                self.stages[model.name] = stage
            else:
                self._report(model, stage.action, stage.rows, stage.partitions, seconds)
            logger.debug("built %s: %s", model.name, stage.action)

    def publish_all(self) -> None:
        for name, stage in self.stages.items():
            started = time.perf_counter()
            try:
                stage.publish(self.adapter)
            except ClickHouseError as error:
                raise BatchError(f"publishing {name} failed: {error_summary(error)}") from error
            stage.seconds += time.perf_counter() - started
            self._report(stage.model, stage.action, stage.rows, stage.partitions, stage.seconds)
        order = list(self.project.models)
        self.report.models.sort(key=lambda model: order.index(model.model))

    def built_in_full(self) -> dict[str, str]:
        """Fingerprints of the models this batch rebuilt or redefined whole."""
        return {name: self.fingerprints[name] for name, stage in self.stages.items()
                if stage.action in (Action.REBUILT, Action.DEFINED)}

    def test_scopes(self) -> dict[str, str]:
        """Per model this batch changed, the condition on its rows that selects what it wrote."""
        return {name: stage.scope for name, stage in self.stages.items()}

    def drop_staging(self) -> None:
        names = self.adapter.relations(staging_pattern(self.run))
        # Views first: they read the staging tables.
        for name in sorted(names, key=lambda name: f"__next_{self.run}" not in name):
            self.adapter.drop(name)

    def _build(self, model: Model) -> Stage | None:
        name = model.name
        parents = [self.stages[parent] for parent in self.project.upstream[name] if parent in self.stages]
        touched = reduce(Touched.__or__, (parent.touched for parent in parents), NOTHING)
        full = self.full or self.fingerprints[name] != self.deployed.get(name) or name not in self.existing
        if model.kind is Kind.INCREMENTAL_BY_PARTITION:
            touched |= self.forced
            needed = full or bool(touched)
        else:
            needed = full or bool(parents) or bool(self.inputs[name] & self.changed_inputs)
        if not needed:
            return None
        job = Job(adapter=self.adapter, model=model, names=StagingNames(name, self.run), full=full, touched=touched,
                  values={**self.variables, "landed_filter": self._landed_filter(model, full)},
                  staged_upstream={parent.model.name: parent.relation_for(model.kind, full) for parent in parents})
        return BUILDERS[model.kind](job)

    def _changed_inputs(self) -> set[str]:
        read = set().union(*self.inputs.values())
        if self.report.since is None:
            return read
        return self.adapter.landed(read, self.report.since, self.report.watermark)

    def _landed_filter(self, model: Model, full: bool) -> str:
        until = f"ingested_at <= {literal(self.report.watermark)}"
        if model.kind is Kind.APPEND and not full and self.report.since is not None:
            return f"ingested_at > {literal(self.report.since)} AND {until}"
        return until

    def _report(self, model: Model, action: Action, rows: int | None, partitions: int | None,
                seconds: float) -> None:
        self.report.models.append(ModelReport(model=model.name, kind=str(model.kind), action=action, rows=rows,
                                              partitions=partitions, seconds=round(seconds, 3),
                                              fingerprint=self.fingerprints[model.name]))
