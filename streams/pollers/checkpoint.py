"""Durable, visible poller checkpoints: one JSON file per source under `<home>/checkpoints/`.

A resource's cursor is saved only after every record of the page it covers was acknowledged
by the broker; the file is replaced atomically (write, fsync, rename), so a crash leaves
either the old or the new checkpoint, never a torn one. `cat` it to see where a poller is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass
class Cursor:
    """An incremental cursor: where the next read starts, re-reading a trailing `lag` window."""

    initial_value: datetime
    """Where a first run starts."""
    last_value: datetime | None = None
    """The saved checkpoint, when there is one."""
    lag: timedelta = timedelta(0)

    def start(self) -> datetime:
        """The instant the next read starts from: last value minus the restatement lag."""
        if self.last_value is None:
            return self.initial_value
        # Not clamped to `initial_value` (a first run's lookback from now): a checkpoint older
        # than the lookback still resumes where it stopped, instead of skipping the gap.
        return self.last_value - self.lag


class CheckpointStore:
    """Checkpoints of one source: resource name -> saved state."""

    def __init__(self, directory: Path, source: str) -> None:
        self.path = directory / f"{source}.json"
        directory.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, dict[str, Any]]:
        """Every resource's saved state (empty when the source never ran)."""
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def get(self, resource: str) -> dict[str, Any]:
        """The saved state of one resource (empty when none)."""
        return self.load().get(resource, {})

    def last_value(self, resource: str) -> datetime | None:
        """The resource's saved cursor value."""
        value = self.get(resource).get("last_value")
        return datetime.fromisoformat(value) if value else None

    def save(self, resource: str, last_value: datetime | str, **extra: Any) -> None:
        """Record the resource's new cursor value (call only after the broker acknowledged)."""
        state = self.load()
        value = last_value.isoformat() if isinstance(last_value, datetime) else last_value
        state[resource] = {**state.get(resource, {}), **extra, "last_value": value,
                           "saved_at": datetime.now(UTC).isoformat()}
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)
