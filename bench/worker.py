"""Benchmark of the worker's hot path: rate against a plain loop on the same records, and latency.

    python -m bench.worker [--records 1000000] [--mix natural|events] [--rate 5000] [--seconds 20]
                           [--phases plain,ingest,worker,latency,workers] [--workers 2]

One run, one machine, one broker and one embedded ClickHouse endpoint (or `KAFKA_BOOTSTRAP_SERVERS`
and `CLICKHOUSE_URL`):
1. `--records` raw records of `raw.cursor.usage_events` and `raw.anthropic.usage` are produced
   once, in the `--mix`: `natural` (default), the world's Cursor events and all its usage buckets
   in their proportions (1h buckets are landed but yield no events, 1d buckets about five each), or
   `events`, half Cursor events and half 1d buckets, the most event-heavy input. They are the
   simulator world's records (vendor rows -> `conform` -> Avro, see `bench/normalize.py`), copied
   with a varied key field (`ordinal`, `account_id`) so every copy is a new event at a realistic date.
2. (a) a plain loop: a confluent-kafka consumer reads both topics in batches, decodes with
   fastavro, inserts the landing columns (the record as JSON, as the worker writes it) with
   clickhouse-connect, commits.
3. (b) the worker's `RawIngestor` in process (`run_range`) on the same records: landing, normalize,
   attribute, events to ClickHouse and to `usage.events`/`cost.events`, DLQ, commit.
4. (b') the `usagemart worker` process on the same records, timed from the first row visible to
   the group having committed everything (every row is visible before its batch commits).
5. With that worker running, `--rate` new Cursor events/s for `--seconds`: produce -> usage event
   visible, from each record's `fetched_at` header (stamped when produced) to `ingested_at` (the
   server's clock when the insert arrived), p50/p95/p99.
6. (b'') `--workers` worker processes as one deployment (one group), from the start of both topics
   again (with phase 5's records, if it ran; the plain loop's rate is scaled to that count).
`--phases` picks among `plain` (2), `ingest` (3), `worker` (4), `latency` (5, after a 2 s warm-up)
and `workers` (6). To see where (b) spends its time, sample it with all its threads, e.g.
`py-spy record --format raw -o ingest.txt -- python -m bench.worker --records 200000 --phases ingest`.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from fastavro import schemaless_reader

from bench.normalize import world_records
from clickhouse.client import connect, ensure_database
from clickhouse.endpoint import endpoint_service
from clickhouse.migrate import migrate
from schemas.contracts import contract, natural_key
from schemas.serde import HeaderFraming, Serde
from streams.ingest import BatchResult, RawIngestor
from streams.landing import LANDING_COLUMNS, landing_table, record_json
from streams.offsets import group_lag, offset_range, records_in_range
from streams.pollers.publisher import PRODUCER_CONFIG, Publisher
from streams.reference import ReferenceState
from streams.simulator.world import World
from streams.sink import ClickHouseSink
from streams.topics import ensure_topics
from tests.kafka_fixtures import start_kafka
from usagemart.processes import free_port, log_tail
from usagemart.settings import ClickHouseTarget

Record = dict[str, Any]
CURSOR = "raw.cursor.usage_events"
ANTHROPIC = "raw.anthropic.usage"
TOPICS = (CURSOR, ANTHROPIC)
PLAIN_TABLE = "bench_plain_landing"
PAGE = 50_000
WORKER_GROUP = "usagemart-worker-ingest"
MIXES = {
    "natural": "Cursor events and every usage-report bucket (1d and 1h), in the world's proportions "
               "(about 1.6 events per record)",
    "events": "half Cursor events, half 1d usage buckets: only records that become events (about 3.3 each)",
}
PHASES = ("plain", "ingest", "worker", "latency", "workers")
T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=5000, help="records/s of the latency phase")
    parser.add_argument("--seconds", type=int, default=20, help="length of the latency phase")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--mix", choices=MIXES, default="natural", help="; ".join(f"{name}: {text}" for name, text
                                                                            in MIXES.items()))
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the `workers` phase")
    args = parser.parse_args()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-worker-")))
        bootstrap = stack.enter_context(_kafka(work))
        target = stack.enter_context(_clickhouse(work))
        client = stack.enter_context(connect(target))
        run(args, work, bootstrap, target, client)


def run(args: argparse.Namespace, work: Path, bootstrap: str, target: ClickHouseTarget, client: Client) -> None:
    """The benchmark's phases, in order, printing as it goes."""
    world = World(seed=7, start=date(2026, 1, 1), days=90)
    began = time.perf_counter()
    produced = produce_backlog(bootstrap, world, args.records, args.mix)
    print(f"produced {produced:,} records in {time.perf_counter() - began:.1f}s", flush=True)
    phases = args.phases.split(",")
    plain = None
    if "plain" in phases:
        plain, _ = timed(lambda: plain_loop(bootstrap, client))
        report("(a) plain loop", plain, produced)
    if "ingest" in phases:
        truncate(client)
        ingested, totals = timed(lambda: ingest_in_process(bootstrap, target))
        report("(b) RawIngestor.run_range", ingested, produced, plain)
        events = totals.usage_events + totals.cost_events
        print(f"{'':<28}{events / ingested:>12,.0f} events/s written ({events:,} events)", flush=True)
    if "worker" in phases or "latency" in phases:
        truncate(client)
        with worker_process(work, bootstrap, target) as logs:
            if "worker" in phases:
                process = worker_catch_up(bootstrap, client, produced)
                report("(b') usagemart worker", process, produced, plain)
            if "latency" in phases:
                latency(bootstrap, client, world, args.rate, 2, "warm-up", 1000)
                latency(bootstrap, client, world, args.rate, args.seconds, "latency", 2000)
            print(f"worker log: {logs}")
    if "workers" in phases:
        truncate(client)
        count = rewind_group(bootstrap, WORKER_GROUP)
        with ExitStack() as workers:
            for index in range(args.workers):
                workers.enter_context(worker_process(work, bootstrap, target, index))
            process = worker_catch_up(bootstrap, client, count)
            report(f"(b'') {args.workers} x usagemart worker", process, count, plain and plain * count / produced)


@contextmanager
def _kafka(work: Path) -> Iterator[str]:
    brokers = start_kafka(work / "kafka")
    bootstrap = next(brokers)
    try:
        ensure_topics(bootstrap)
        yield bootstrap
    finally:
        next(brokers, None)


@contextmanager
def _clickhouse(work: Path) -> Iterator[ClickHouseTarget]:
    external = os.environ.get("CLICKHOUSE_URL")
    service = None
    if external:
        target = ClickHouseTarget(external)
    else:
        port = free_port()
        service = endpoint_service(work / "clickhouse", work / "run", port=port)
        service.start()
        target = ClickHouseTarget(f"http://127.0.0.1:{port}/bench_worker")
    try:
        ensure_database(target)
        with connect(target) as client:
            migrate(client)
            client.command(f"CREATE TABLE IF NOT EXISTS {PLAIN_TABLE} AS raw_records_template")
        yield target
    finally:
        if service is not None:
            service.stop()


def produce_backlog(bootstrap: str, world: World, count: int, mix: str) -> int:
    """`count` records, half on each topic, published as the pollers publish (keys and headers)."""
    publisher = Publisher(bootstrap, Serde(HeaderFraming()), "bench", uuid.uuid4().hex)
    try:
        for topic, records in backlog(world, count, mix).items():
            for start in range(0, len(records), PAGE):
                publisher.publish(topic, records[start:start + PAGE])
    finally:
        publisher.close()
    return count


def backlog(world: World, count: int, mix: str) -> dict[str, list[Record]]:
    """`count` of the world's usage records in the `mix` (see `MIXES`), copied with a varied key field."""
    cursor = world_records(world, CURSOR, True)
    if mix == "natural":
        anthropic = [*world_records(world, ANTHROPIC, True), *world_records(world, ANTHROPIC, False)]
        share = len(cursor) / (len(cursor) + len(anthropic))
    else:
        anthropic, share = world_records(world, ANTHROPIC, True), 0.5
    cursor_count = round(count * share)
    return {
        CURSOR: copies(cursor, cursor_count, lambda record, n: {**record, "ordinal": record["ordinal"] + 1000 * n}),
        ANTHROPIC: copies(anthropic, count - cursor_count,
                          lambda record, n: {**record, "account_id": f"acct_bench{n}"} if n else record),
    }


def copies(records: Sequence[Record], count: int, vary: Callable[[Record, int], Record]) -> list[Record]:
    """`count` records: `records`, then `vary(record, 1)` of each, then `vary(record, 2)`, ..."""
    return [vary(records[index % len(records)], index // len(records)) for index in range(count)]


def plain_loop(bootstrap: str, client: Client) -> None:
    """Consume both topics to their end: decode, insert landing columns, commit; nothing else."""
    starts, ends = offset_range(bootstrap, TOPICS, None)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-plain-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "fetch.max.bytes": 64 * 1024 * 1024,
                         "max.partition.fetch.bytes": 16 * 1024 * 1024})
    schemas = {topic: contract(topic).schema for topic in TOPICS}
    remaining = records_in_range(starts, ends)
    consumer.assign(starts)
    try:
        while remaining:
            messages = consumer.consume(10_000, timeout=0.25)
            if messages:
                client.insert(PLAIN_TABLE, plain_columns(messages, schemas), column_names=list(LANDING_COLUMNS),
                              column_oriented=True)
                consumer.commit(asynchronous=False)
                remaining -= len(messages)
    finally:
        consumer.close()


def plain_columns(messages: Sequence[Message], schemas: dict[str, Any]) -> list[list[Any]]:
    """The landing columns of a batch, the plain way: one pass, fastavro, the worker's JSON (orjson)."""
    columns: list[list[Any]] = [[] for _ in LANDING_COLUMNS]
    for message in messages:
        headers = dict(message.headers())
        record = schemaless_reader(io.BytesIO(message.value()), schemas[message.topic()], None)
        row = (message.key().decode(), record_json(record), headers["schema"].decode(),
               headers["source"].decode(), headers["poll_run_id"].decode(),
               datetime.fromisoformat(headers["fetched_at"].decode()), message.topic(), message.partition(),
               message.offset())
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def ingest_in_process(bootstrap: str, target: ClickHouseTarget) -> BatchResult:
    """The worker's hot path over both topics, from the beginning to the current end; what it did."""
    state = ReferenceState()
    ingestor = RawIngestor(bootstrap, Serde(HeaderFraming()), ClickHouseSink(lambda: connect(target)), state.lookup,
                           lambda: state.prices, group_id=f"bench-ingest-{uuid.uuid4().hex[:8]}", topics=TOPICS)
    starts, ends = offset_range(bootstrap, TOPICS, None)
    ingestor.run_range(starts, ends)
    return ingestor.totals


@contextmanager
def worker_process(work: Path, bootstrap: str, target: ClickHouseTarget, index: int = 0) -> Iterator[Path]:
    """`usagemart worker` number `index` running against the bench's broker and database; yields its log file.

    Several run as one deployment: the same group, each with its own home (Faust data) and web port.
    """
    log = work / f"worker-{index}.log"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "USAGEMART_HOME": str(work / f"home-{index}"),
           "CLICKHOUSE_URL": f"http://{target.username}:{target.password}@{target.host}:{target.port}/"
                             f"{target.database}"}
    command = [str(Path(sys.executable).with_name("usagemart")), "worker", "--web-port", str(free_port())]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield log
    except BaseException:
        print(f"last lines of the worker's log:\n{log_tail(log, 40)}")
        raise
    finally:
        process.terminate()
        process.wait(60)


def rewind_group(bootstrap: str, group: str) -> int:
    """Commit the start of both topics for `group` (no member may be running); the records from there."""
    starts, ends = offset_range(bootstrap, TOPICS, None)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        lows = [TopicPartition(start.topic, start.partition,
                               consumer.get_watermark_offsets(start, timeout=10)[0]) for start in starts]
        consumer.commit(offsets=lows, asynchronous=False)
    finally:
        consumer.close()
    return records_in_range(starts, ends)


def worker_catch_up(bootstrap: str, client: Client, expected: int) -> float:
    """Seconds from the first landing row visible to the worker's group having committed everything."""
    while landed(client) == 0:
        time.sleep(0.05)
    first = time.perf_counter()
    while group_lag(bootstrap, WORKER_GROUP, TOPICS) > 0:
        time.sleep(0.1)
    seconds = time.perf_counter() - first
    if landed(client) < expected:
        raise RuntimeError(f"the worker committed everything but only {landed(client):,} of {expected:,} landed")
    return seconds


def landed(client: Client) -> int:
    """Landing rows of both topics."""
    return sum(client.command(f"SELECT count() FROM {landing_table(topic)}") for topic in TOPICS)


def latency(bootstrap: str, client: Client, world: World, rate: int, seconds: int, label: str, copy: int) -> None:
    """Produce new Cursor events at `rate`/s for `seconds`; print produce -> visible percentiles.

    The events are copies `copy`, `copy + 1`, ... of the world's (see `backlog`), so each call's are new.
    """
    template = world_records(world, CURSOR, True)
    count = rate * seconds
    records = copies(template, count, lambda record, n: {**record, "ordinal": record["ordinal"] + 1000 * (copy + n)})
    serde = Serde(HeaderFraming())
    values = serde.encode_batch(CURSOR, records)
    keys = [natural_key(CURSOR, record).encode() for record in records]
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG, "linger.ms": 5})
    started_ms = int(time.time() * 1000)
    paced(producer, keys, values, rate, [("source", b"bench"), ("poll_run_id", b"latency"), *serde.headers(CURSOR)])
    deadline = time.monotonic() + 300
    while client.command(f"SELECT count() FROM usage_events WHERE raw_topic = '{CURSOR}' "
                         f"AND version >= {started_ms}") < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the latency records did not all arrive within 5 minutes")
        time.sleep(0.2)
    p50, p95, p99 = client.query(
        "SELECT quantilesExact(0.5, 0.95, 0.99)(toUnixTimestamp64Milli(ingested_at) - version) FROM usage_events "
        f"WHERE raw_topic = '{CURSOR}' AND version >= {started_ms}").result_rows[0][0]
    print(f"{label} at {rate:,} records/s for {seconds}s ({count:,} records), produce -> usage event visible: "
          f"p50 {p50 / 1000:.3f}s  p95 {p95 / 1000:.3f}s  p99 {p99 / 1000:.3f}s")


def paced(producer: Producer, keys: list[bytes], values: list[bytes], rate: int,
          headers: list[tuple[str, bytes]]) -> None:
    """Produce at `rate` records/s in ticks of 10 ms, each record stamped `fetched_at` when sent."""
    tick, per_tick = 0.01, max(1, rate // 100)
    start = time.perf_counter()
    for index in range(0, len(values), per_tick):
        delay = start + (index // per_tick) * tick - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamp = ("fetched_at", datetime.now(UTC).isoformat().encode())
        for key, value in zip(keys[index:index + per_tick], values[index:index + per_tick], strict=True):
            producer.produce(CURSOR, value, key, headers=[*headers, stamp])
        producer.poll(0)
    producer.flush(60)


def truncate(client: Client) -> None:
    """Empty the worker's tables, so every run inserts into the same state."""
    for table in ("usage_events", "cost_events", "dlq_records", *(landing_table(topic) for topic in TOPICS)):
        client.command(f"TRUNCATE TABLE {table}")


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """Seconds `work` took, and what it returned."""
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def report(label: str, seconds: float, count: int, baseline: float | None = None) -> None:
    """One rate line, with its ratio to the baseline's rate."""
    ratio = f"   b/a = {baseline / seconds:.2f}" if baseline else ""
    print(f"{label:<28}{count / seconds:>12,.0f} records/s  ({seconds:.1f}s){ratio}", flush=True)


if __name__ == "__main__":
    main()
