"""`usagemart replay`: re-process raw topics from a point in time, or rebuild the event tables.

Replay reads with a fresh consumer group from the chosen position up to the end offsets seen
at start, through the same batch path as the worker, so deterministic `event_id`s converge on
the same rows. Reference data are loaded first from their compacted topics, so history is
attributed with the current mappings.

`--rebuild` fills shadow tables (`<table>__rebuild`) from the earliest offsets and swaps each
with its live table in one `EXCHANGE TABLES`, so readers never see a half-built table.
Normalized topics are not re-published: they are derived, and the tables are what replay fixes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from clickhouse.client import connect
from schemas.serde import Serde
from streams import reference
from streams.ingest import INGESTED_TOPICS, BatchResult, RawIngestor
from streams.landing import landing_table
from streams.offsets import offset_range, records_in_range
from streams.sink import ClickHouseSink
from usagemart.settings import Settings

SHADOW_SUFFIX = "__rebuild"
EVENT_TABLES = ("usage_events", "cost_events", "dlq_records")


def replay(settings: Settings, start: datetime | None, topics: Sequence[str] = INGESTED_TOPICS,
           rebuild: bool = False, on_progress: Callable[[int, int], None] | None = None) -> BatchResult:
    """Re-process `topics` from `start` (None = earliest); with `rebuild`, swap in rebuilt tables."""
    serde = Serde.from_settings(settings)
    state = reference.load(settings.bootstrap_servers, serde)
    tables = [*EVENT_TABLES, *(landing_table(topic) for topic in topics)] if rebuild else []
    with connect(settings.clickhouse) as client:
        for table in tables:
            client.command(f"DROP TABLE IF EXISTS `{table}{SHADOW_SUFFIX}`")
            client.command(f"CREATE TABLE `{table}{SHADOW_SUFFIX}` AS `{table}`")
        ingestor = RawIngestor(settings.bootstrap_servers, serde, ClickHouseSink(lambda: connect(settings.clickhouse)),
                               state.lookup, lambda: state.prices, group_id=f"usagemart-replay-{uuid.uuid4().hex[:8]}",
                               topics=topics, produce_events=False, table_suffix=SHADOW_SUFFIX if rebuild else "")
        starts, ends = offset_range(settings.bootstrap_servers, topics, None if rebuild else start)
        total, done = records_in_range(starts, ends), [0]

        def progressed(result: BatchResult) -> None:
            done[0] += result.consumed
            if on_progress is not None:
                on_progress(done[0], total)

        ingestor.run_range(starts, ends, progressed)
        for table in tables:
            client.command(f"EXCHANGE TABLES `{table}` AND `{table}{SHADOW_SUFFIX}`")
            client.command(f"DROP TABLE `{table}{SHADOW_SUFFIX}`")
        return ingestor.totals
