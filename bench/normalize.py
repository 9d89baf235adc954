"""Micro-benchmark of normalization and attribution: records/s and events/s per raw topic.

    python -m bench.normalize [--records 100000] [--batch 1000] [--days 30]    (from the repository root)

Records are the simulator's world as the pollers publish it (vendor rows -> `conform` -> Avro ->
decoded, see `tests/streams/normalize/simulated.py`), repeated with every date moved on by the
world's span until there are `--records` of them, so keys, days and timestamps stay distinct as
in a long history. Usage-report records are the 1d buckets (the ones that become events); the
1h buckets' skip is timed on its own line. Each topic is normalized in batches of `--batch`, the
way the worker takes them, and the events attributed against reference data built from the same
world, timed apart. Each pass reads its own records (the next stretch of history), so unique
keys and timestamps are new to every pass; the best pass is reported. Times are this process's
CPU time, so other load on a shared machine does not pass for normalization cost.
Decoding and encoding are `bench/serde.py`'s business, not measured here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from schemas.conform import conform
from streams.attribution import DictReferenceData, attribute
from streams.normalize import EVENT_TOPICS, ModelPriceBook, normalize_batch
from streams.simulator import anthropic
from streams.simulator.world import World
from tests.streams.normalize.simulated import origins, raw_records

Record = dict[str, Any]
FETCHED_AT_MS = 1_772_469_003_214
USAGE_TOPIC = "raw.anthropic.usage"
ONE_DAY = timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--passes", type=int, default=3, help="report the best of this many passes")
    args = parser.parse_args()
    world = World(seed=7, start=date(2026, 1, 1), days=args.days)
    prices = ModelPriceBook.shipped()
    reference = reference_data(world)
    print(f"{'topic':<34}{'records/s':>12}{'events/s':>12}{'us/record':>11}{'us/event':>10}"
          f"{'events':>9}{'attribute ev/s':>17}")
    for topic in sorted(EVENT_TOPICS):
        records = repeated(world_records(world, topic, daily=True), args.records * args.passes, args.days)
        report(topic, records, args, prices, reference)
    hourly = repeated(world_records(world, USAGE_TOPIC, daily=False), args.records * args.passes,
                      args.days)
    report(f"{USAGE_TOPIC} (1h, skipped)", hourly, args, prices, reference, topic=USAGE_TOPIC)


def world_records(world: World, topic: str, daily: bool) -> list[Record]:
    """The world's decoded records of `topic`; for the usage report, only 1d (`daily`) or only 1h buckets."""
    records = raw_records(world, topic)
    if topic != USAGE_TOPIC:
        return records
    return [record for record in records if (record["ending_at"] - record["starting_at"] == ONE_DAY) is daily]


def repeated(records: Sequence[Record], count: int, span_days: int) -> list[Record]:
    """`count` records: `records` again and again, each round `span_days` later than the last."""
    out: list[Record] = []
    shift = 0
    while len(out) < count:
        delta = timedelta(days=shift)
        out.extend(moved(record, delta) for record in records[: count - len(out)])
        shift += span_days
    return out


def moved(record: Record, delta: timedelta) -> Record:
    """The record with every top-level date and time `delta` later."""
    return {name: value + delta if isinstance(value, datetime | date) else value for name, value in record.items()}


def reference_data(world: World) -> DictReferenceData:
    """The world's keys and users, and a sheet mapping for every third key."""
    reference = DictReferenceData()
    keys = [conform("raw.anthropic.api_keys", row) for row in anthropic.api_keys(world)]
    for user in anthropic.users(world):
        reference.update("raw.anthropic.users", None, conform("raw.anthropic.users", user))
    for key in keys:
        reference.update("raw.anthropic.api_keys", None, key)
    for key in keys[::3]:
        reference.update("ref.api_key_mappings", None, {
            "api_key_id": key["id"], "user_email": "owner@acme-robotics.com", "source": "sheet", "confidence": 0.8,
            "api_key_name": key["name"], "note": None, "updated_at": key["created_at"],
        })
    return reference


def report(label: str, records: list[Record], args: argparse.Namespace, prices: ModelPriceBook,
           reference: DictReferenceData, topic: str | None = None) -> None:
    """Print the best of `args.passes` passes, each over its own `args.records` of `records`."""
    topic = topic or label
    passes = [timed_pass(topic, records[start:start + args.records], args.batch, prices, reference)
              for start in range(0, len(records), args.records)]
    normalizing, attributing, events = min(passes)
    count = len(records) // len(passes)
    per_event = f"{normalizing / events * 1e6:>10.2f}" if events else f"{'-':>10}"
    attributed = f"{events / attributing:>17,.0f}" if events else f"{'-':>17}"
    print(f"{label:<34}{count / normalizing:>12,.0f}{events / normalizing:>12,.0f}"
          f"{normalizing / count * 1e6:>11.2f}{per_event}{events:>9,}{attributed}")


def timed_pass(topic: str, records: list[Record], batch: int, prices: ModelPriceBook,
               reference: DictReferenceData) -> tuple[float, float, int]:
    """Seconds normalizing, seconds attributing, and events, over `records` in batches.

    Events are dropped after each batch, as the worker drops them once written, so the garbage
    collector sees a worker's heap, not a benchmark's.
    """
    normalizing = attributing = 0.0
    events = 0
    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        chunk_origins = origins(topic, len(chunk), FETCHED_AT_MS, start)
        began = time.process_time()
        result, errors = normalize_batch(topic, chunk, chunk_origins, prices)
        normalized = time.process_time()
        attribute(result.usage, reference)
        attribute(result.costs, reference)
        attributing += time.process_time() - normalized
        normalizing += normalized - began
        if errors:
            raise RuntimeError(f"{topic}: a benchmark with bad records measures the wrong thing: {errors[0]}")
        events += len(result.usage) + len(result.costs)
    return normalizing, attributing, events


if __name__ == "__main__":
    main()
