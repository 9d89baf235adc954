"""What a batch did: per model rows, partitions and seconds, and the run's window and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Action(StrEnum):
    """What a batch did to one model."""

    REBUILT = "rebuilt"
    """Built whole and swapped in (a table, or any model built in full)."""
    PARTITIONS = "partitions"
    """The touched partitions were rebuilt and replaced."""
    APPENDED = "appended"
    """The rows that landed in the window were appended."""
    UNCHANGED = "unchanged"
    """Rebuilt, found identical to what is published, not swapped."""
    DEFINED = "defined"
    """A view (re)created from a new definition."""
    VIEW = "view"
    """A view whose inputs changed; nothing to do but let downstream models read the new inputs."""
    SKIPPED = "skipped"
    """Nothing it reads changed."""


@dataclass(frozen=True)
class ModelReport:
    """One model in one batch."""

    model: str
    kind: str
    action: Action
    rows: int | None
    """Rows written (the whole table, the appended rows, or the rows of the replaced partitions)."""
    partitions: int | None
    """Partitions written, for partitioned tables."""
    seconds: float
    fingerprint: str


@dataclass
class BatchReport:
    """One batch: its landing window (since, watermark], mode, outcome and models."""

    run_id: str
    mode: str
    started_at: datetime
    since: datetime | None
    watermark: datetime
    models: list[ModelReport] = field(default_factory=list)
    finished_at: datetime | None = None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.finished_at is not None and not self.error
