"""Per kind of model: how it is built into staging during a batch, and how it is published after.

Nothing a reader can see changes while models are built: each build writes to relations named
after the batch (`<model>__build_<run>`, `__delta_`, `__next_`), and downstream models of the same
batch read those. Publishing (swaps, partition replacements, appends) happens once every model
has been built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from batch.engine_adapter import EngineAdapter
from batch.model import Kind, Model
from batch.run_report import Action
from batch.template import ALL_ROWS, in_list, rename_relations, render



@dataclass(frozen=True)
class Touched:
    """The dates whose rows a model's change touched, or `everything` when it cannot tell which."""

    dates: frozenset[date] = frozenset()
    everything: bool = False

    def __or__(self, other: Touched) -> Touched:
        return Touched(self.dates | other.dates, self.everything or other.everything)

    def __bool__(self) -> bool:
        return self.everything or bool(self.dates)


NOTHING = Touched()
EVERYTHING = Touched(everything=True)


def staging_pattern(run: str = "[0-9a-f]{8}") -> str:
    """A regular expression matching the names of the relations batch `run` (default: any) stages in."""
    return rf"__(build|delta|next)_{run}$"


@dataclass(frozen=True)
class StagingNames:
    """The relations one model stages in during one batch."""

    target: str
    run: str
    """Eight hex digits naming the batch."""

    @property
    def build(self) -> str:
        """A table: the model rebuilt whole, or its rebuilt partitions."""
        return f"{self.target}__build_{self.run}"

    @property
    def delta(self) -> str:
        """A table: the rows an append model appends in this batch."""
        return f"{self.target}__delta_{self.run}"

    @property
    def next(self) -> str:
        """A view: the model as it will be once published, for downstream models of this batch."""
        return f"{self.target}__next_{self.run}"


@dataclass(frozen=True)
class Job:
    """One model to build in this batch, and what its SQL is rendered with."""

    adapter: EngineAdapter
    model: Model
    names: StagingNames
    full: bool
    """Rebuild it whole (first build, new fingerprint, `--full`), not just what changed."""
    touched: Touched
    """What its upstream models' changes touched (plus the dates a run was asked to rebuild)."""
    values: Mapping[str, str]
    """Values of its `{{ holes }}`, except `partition_filter`."""
    staged_upstream: Mapping[str, str]
    """Upstream model name -> the staged relation to read instead."""

    def sql(self, partition_filter: str = ALL_ROWS, *, staged: bool = True) -> str:
        """The model's SQL, reading staged upstream relations unless `staged` is false."""
        rendered = render(self.model.sql, {**self.values, "partition_filter": partition_filter})
        return rename_relations(rendered, self.staged_upstream) if staged else rendered


@dataclass(kw_only=True)
class Stage:
    """A model built in this batch; `publish` makes readers see it."""

    model: Model
    action: Action
    reads_as: str
    """What downstream models of this batch read in its place."""
    touched: Touched
    rows: int | None = None
    partitions: int | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """False when publishing would change nothing; downstream models then ignore it."""
        return self.action is not Action.UNCHANGED

    @property
    def scope(self) -> str:
        """A condition on the published model's rows that holds for the rows this batch wrote."""
        return ALL_ROWS

    def relation_for(self, reader: Kind, reader_full: bool) -> str:
        """What a downstream model of kind `reader` reads in place of this one."""
        return self.reads_as

    def publish(self, adapter: EngineAdapter) -> None:
        """Make the built state visible to readers (nothing to do by default)."""


@dataclass(kw_only=True)
class SwapStage(Stage):
    """A whole table built in staging, swapped in at once."""

    build: str

    def publish(self, adapter: EngineAdapter) -> None:
        adapter.swap(self.build, self.model.name)


@dataclass(kw_only=True)
class DefinedView(Stage):
    """A view with a new definition."""

    definition: str

    def publish(self, adapter: EngineAdapter) -> None:
        adapter.create_view(self.model.name, self.definition, replace=True)


@dataclass(kw_only=True)
class AppendStage(Stage):
    """Rows to append; append models downstream read only these, other models the whole table."""

    delta: str

    def relation_for(self, reader: Kind, reader_full: bool) -> str:
        return self.delta if reader is Kind.APPEND and not reader_full else self.reads_as

    def publish(self, adapter: EngineAdapter) -> None:
        adapter.insert(self.model.name, f"SELECT * FROM `{self.delta}`")


@dataclass(kw_only=True)
class PartitionStage(Stage):
    """Rebuilt partitions, each replaced atomically."""

    build: str
    partition_ids: tuple[str, ...] = field(default_factory=tuple)
    in_partitions: str = ALL_ROWS
    """The condition that selects the rebuilt partitions' rows."""

    @property
    def scope(self) -> str:
        return self.in_partitions

    def publish(self, adapter: EngineAdapter) -> None:
        adapter.replace_partitions(self.model.name, self.build, self.partition_ids)


def build_view(job: Job) -> Stage:
    """Stage the view over the staged inputs; a new definition is published, an old one stays."""
    job.adapter.create_view(job.names.next, job.sql())
    if job.full:
        return DefinedView(model=job.model, action=Action.DEFINED, reads_as=job.names.next, touched=EVERYTHING,
                           definition=job.sql(staged=False))
    return Stage(model=job.model, action=Action.VIEW, reads_as=job.names.next, touched=job.touched)


def build_table(job: Job) -> Stage:
    """Rebuild the table whole; publish it only if its rows changed, saying which dates did."""
    stage = _build_whole(job)
    if job.full:
        return stage
    adapter, meta, name = job.adapter, job.model.meta, job.model.name
    if meta.time_column:
        stage.touched = Touched(frozenset(adapter.changed_dates(stage.build, name, meta.time_column)))
    else:
        stage.touched = EVERYTHING if adapter.differs(stage.build, name) else NOTHING
    if not stage.touched:
        stage.action = Action.UNCHANGED
    return stage


def build_append(job: Job) -> Stage:
    """Stage the rows that landed in the window (all of them for a full build)."""
    if job.full:
        return _build_whole(job)
    adapter, model, names = job.adapter, job.model, job.names
    adapter.create_table_like(names.delta, model.name)
    adapter.insert(names.delta, job.sql())
    rows = adapter.count(names.delta)
    if rows == 0:
        return Stage(model=model, action=Action.UNCHANGED, reads_as=model.name, touched=NOTHING, rows=0)
    time_column = model.meta.time_column
    touched = Touched(frozenset(adapter.distinct_dates(names.delta, time_column))) if time_column else EVERYTHING
    adapter.create_view(names.next, f"SELECT * FROM `{model.name}` UNION ALL SELECT * FROM `{names.delta}`")
    return AppendStage(model=model, action=Action.APPENDED, reads_as=names.next, touched=touched, rows=rows,
                       partitions=_partition_count(adapter, model, names.delta), delta=names.delta)


def build_partitions(job: Job) -> Stage:
    """Rebuild the partitions holding the touched dates (everything for a full build)."""
    if job.full or job.touched.everything:
        return _build_whole(job)
    adapter, model, names = job.adapter, job.model, job.names
    partitions = adapter.partitions_of(model.meta, job.touched.dates)
    in_touched = in_list(str(model.meta.partition_by), [value for value, _ in partitions])
    adapter.create_table_like(names.build, model.name)
    adapter.insert(names.build, job.sql(in_touched))
    adapter.create_view(names.next, f"SELECT * FROM `{names.build}` UNION ALL "
                                    f"SELECT * FROM `{model.name}` WHERE NOT {in_touched}")
    return PartitionStage(model=model, action=Action.PARTITIONS, reads_as=names.next, touched=job.touched,
                          rows=adapter.count(names.build), partitions=len(partitions), build=names.build,
                          partition_ids=tuple(partition_id for _, partition_id in partitions),
                          in_partitions=in_touched)


def _build_whole(job: Job) -> SwapStage:
    adapter, model, build = job.adapter, job.model, job.names.build
    sql = job.sql()
    adapter.create_table(build, sql, model.meta)
    adapter.insert(build, sql)
    return SwapStage(model=model, action=Action.REBUILT, reads_as=build, touched=EVERYTHING,
                     rows=adapter.count(build), partitions=_partition_count(adapter, model, build), build=build)


def _partition_count(adapter: EngineAdapter, model: Model, table: str) -> int | None:
    return len(adapter.partition_ids(table)) if model.meta.partition_by else None


BUILDERS: Mapping[Kind, Callable[[Job], Stage]] = {
    Kind.VIEW: build_view,
    Kind.TABLE: build_table,
    Kind.APPEND: build_append,
    Kind.INCREMENTAL_BY_PARTITION: build_partitions,
}
"""The build step of each kind of model."""
