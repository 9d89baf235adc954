"""Backfill benchmark: 90 simulated days per source, through the real pollers into a real broker.

    python bench/backfill.py [--sources anthropic,stripe]

Every source in `streams.pollers.SOURCE_NAMES` whose module imports is backfilled once from the
world's first day, against the simulator running as its own process (as in use), and reports:
  - requests: the client's count and the simulator's (`/_sim/stats`), against the fewest the
    endpoints' documented page limits allow for the same data (from the simulator's ground truth);
  - records/s of the whole pass (HTTP, parsing, conforming, publishing, checkpoints);
  - our `Publisher` against a bare confluent-kafka producer loop, replaying the pass's pages in
    this run: the bare loop sends the same encoded bytes under the same keys and headers with
    the same producer configuration and flushes once, so the ratio is the publisher's own cost
    (encoding, keys, one acknowledged flush per page). Best of `ROUNDS` each, alternating.
Kafka: `KAFKA_BOOTSTRAP_SERVERS` when set (a scratch cluster: simulated records land in its raw
topics), else a broker of its own (`tests.kafka_fixtures.start_kafka`).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Producer

from schemas.contracts import natural_key
from schemas.serde import Serde
from streams.pollers import SOURCE_NAMES
from streams.pollers.checkpoint import Cursor
from streams.pollers.publisher import PRODUCER_CONFIG, Publisher
from streams.pollers.source import Page, Resource, Source, poll_once
from streams.pollers.vendor_http import VendorHttp
from streams.simulator import anthropic, cursor, product, stripe
from streams.simulator.server import simulator_service
from streams.simulator.world import DAY, World
from streams.topics import ensure_topics
from tests.kafka_fixtures import start_kafka
from tests.streams.pollers.conftest import settings_for
from usagemart.processes import free_port

SEED = 7
ROUNDS = 3
Recorded = list[tuple[str, list[dict[str, Any]]]]
"""(topic, records) of every page a pass published, in order."""
Headers = list[tuple[str, str | bytes | None]]


# --- the fewest requests the page limits allow (SOURCES.md), from the ground truth ----------------

def _pages(rows: int, limit: int) -> int:
    """Requests to list `rows` at `limit` per page: an empty listing still takes one."""
    return max(1, math.ceil(rows / limit))


def _buckets(world: World, since: datetime, seconds: int) -> int:
    return math.ceil((world.now_ts - int(since.timestamp())) / seconds)


def _days(world: World, since: datetime) -> list[date]:
    return [day for day in world.dates() if day >= since.date()]


def anthropic_minimum(world: World, since: datetime) -> int:
    """Keys and users ≤ 1000 a page; usage 1d and cost ≤ 31 buckets, usage 1h ≤ 168; Claude Code one day a request."""
    daily = _pages(_buckets(world, since, DAY), 31)
    return (_pages(len(anthropic.api_keys(world)), 1000) + _pages(len(anthropic.users(world)), 1000)
            + daily + _pages(_buckets(world, since, 3600), 168) + daily
            + sum(_pages(len(anthropic.claude_code(world, day)), 1000) for day in _days(world, since)))


def stripe_minimum(world: World, since: datetime) -> int:
    """Charges ≤ 100 a page."""
    return _pages(sum(charge["created"] >= since.timestamp() for charge in stripe.charges(world)), 100)


def cursor_minimum(world: World, since: datetime) -> int:
    """Members in one request, daily usage ≤ 30 days a request, events and spend ≤ 1000 a page."""
    start_ms, end_ms = int(since.timestamp()) * 1000, world.now_ts * 1000
    return (1 + math.ceil((end_ms - start_ms) / (30 * DAY * 1000))
            + _pages(len(cursor.usage_events(world, start_ms, end_ms)), 1000) + _pages(len(cursor.spend(world)), 1000))


def product_minimum(world: World, since: datetime) -> int:
    """Usage ≤ 1000 a page; each catalog and the price book in one request."""
    return _pages(len(product.usage(world, int(since.timestamp()))), 1000) + len(product.CATALOGS) + 1


MINIMUMS: dict[str, Callable[[World, datetime], int]] = {
    "anthropic": anthropic_minimum, "stripe": stripe_minimum, "cursor": cursor_minimum, "product": product_minimum,
}


# --- one source -------------------------------------------------------------------------------

@dataclass
class Figures:
    """What one source's backfill did."""

    source: str
    records: int
    seconds: float
    requests: int
    simulator_requests: int
    minimum_requests: int | None
    publisher_rate: float
    bare_rate: float


def backfill(name: str, source: Source, world: World, url: str, bootstrap: str, home: Path) -> Figures:
    """Backfill `source` from the world's first day, then replay its pages through both producers."""
    since = datetime.combine(world.start, datetime.min.time(), UTC)
    settings = settings_for(home / name, bootstrap, url)
    pages: Recorded = []
    before = _simulator_requests(url)
    started = time.perf_counter()
    result = poll_once(recording(source, pages), settings, since=since)
    seconds = time.perf_counter() - started
    publisher, bare = replay(pages, bootstrap, Serde.from_settings(settings))
    minimum = MINIMUMS.get(name)
    return Figures(name, sum(result.records.values()), seconds, result.requests, _simulator_requests(url) - before,
                   minimum(world, since) if minimum else None, publisher, bare)


def recording(source: Source, pages: Recorded) -> Source:
    """`source` with every page it yields also appended to `pages`."""
    def resources(settings: Any) -> list[Resource]:
        return [replace(resource, pages=_recorded(resource, pages)) for resource in source.resources(settings)]

    return replace(source, resources=resources)


def _recorded(resource: Resource, pages: Recorded) -> Callable[[VendorHttp, Cursor], Iterator[Page]]:
    def read(http: VendorHttp, cursor: Cursor) -> Iterator[Page]:
        for page in resource.pages(http, cursor):
            pages.append((resource.topic, page.records))
            yield page

    return read


def _simulator_requests(url: str) -> int:
    return int(httpx.get(f"{url}/_sim/stats").json()["total"])


# --- publisher against a bare producer ----------------------------------------------------------

def replay(pages: Recorded, bootstrap: str, serde: Serde) -> tuple[float, float]:
    """Records/s of our `Publisher` and of a bare producer loop over the same pages (best of ROUNDS)."""
    run_id = f"bench-{uuid.uuid4().hex}"
    encoded = [(topic, [natural_key(topic, record).encode() for record in records], serde.encode_batch(topic, records),
                _headers(serde, topic, run_id)) for topic, records in pages if records]
    count = sum(len(keys) for _, keys, _, _ in encoded)
    ours, bare = [], []
    for _ in range(ROUNDS):
        ours.append(count / _timed(_publish(pages, bootstrap, serde, run_id)))
        bare.append(count / _timed(_produce(encoded, bootstrap)))
    return max(ours), max(bare)


def _publish(pages: Recorded, bootstrap: str, serde: Serde, run_id: str) -> Callable[[], None]:
    publisher = Publisher(bootstrap, serde, "bench", run_id)

    def run() -> None:
        for topic, records in pages:
            publisher.publish(topic, records)
        publisher.close()

    return run


def _produce(encoded: list[tuple[str, list[bytes], list[bytes], Headers]], bootstrap: str) -> Callable[[], None]:
    producer = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})

    def run() -> None:
        for topic, keys, values, headers in encoded:
            for key, value in zip(keys, values, strict=True):
                while True:
                    try:
                        producer.produce(topic, value, key, headers=headers)
                        break
                    except BufferError:
                        producer.poll(0.1)
        if producer.flush(60):
            raise RuntimeError("the bare producer left records unacknowledged")

    return run


def _headers(serde: Serde, topic: str, run_id: str) -> Headers:
    return [("source", b"bench"), ("poll_run_id", run_id.encode()),
            ("fetched_at", datetime.now(UTC).isoformat().encode()), *serde.headers(topic)]


def _timed(run: Callable[[], None]) -> float:
    """Seconds `run` takes, once its producer (created with it) has had time to connect."""
    time.sleep(0.5)
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


# --- the run ------------------------------------------------------------------------------------

def available_sources(names: list[str]) -> dict[str, Source]:
    """The chosen sources whose poller module imports (others are being written)."""
    sources = {}
    for name in names:
        try:
            sources[name] = import_module(f"streams.pollers.{name}").SOURCE
        except ImportError as error:
            print(f"{name}: skipped ({error})")
    return sources


def report(figures: list[Figures]) -> None:
    """One line per source."""
    print(f"{'source':<10} {'records':>8} {'seconds':>8} {'rec/s':>8} {'requests':>9} {'sim':>6} {'minimum':>8} "
          f"{'excess':>7} {'publisher rec/s':>16} {'bare rec/s':>11} {'ratio':>6}")
    for row in figures:
        minimum = f"{row.minimum_requests}" if row.minimum_requests is not None else "n/a"
        excess = f"{row.requests / row.minimum_requests:.2f}x" if row.minimum_requests else "n/a"
        print(f"{row.source:<10} {row.records:>8} {row.seconds:>8.2f} {row.records / row.seconds:>8.0f} "
              f"{row.requests:>9} {row.simulator_requests:>6} {minimum:>8} {excess:>7} {row.publisher_rate:>16.0f} "
              f"{row.bare_rate:>11.0f} {row.publisher_rate / row.bare_rate:>6.2f}")


def main() -> None:
    """Parse the command line, start what is needed, backfill every available source, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", default=",".join(SOURCE_NAMES), help="comma-separated, default: all")
    args = parser.parse_args()
    sources = available_sources(args.sources.split(","))
    with tempfile.TemporaryDirectory(prefix="usagemart-bench-") as scratch:
        root = Path(scratch)
        port = free_port()
        simulator = simulator_service(root / "run", port, SEED)
        with contextmanager(start_kafka)(root / "kafka") as bootstrap:
            ensure_topics(bootstrap)
            simulator.start()
            try:
                url = f"http://127.0.0.1:{port}"
                world = _world(url)
                print(f"world seed={world.seed} {world.start}..{world.last_day} now={world.now}; kafka {bootstrap}")
                report([backfill(name, source, world, url, bootstrap, root / "home")
                        for name, source in sources.items()])
            finally:
                simulator.stop()


def _world(url: str) -> World:
    """The simulator's world, rebuilt here from its state to compute the ground truth."""
    state = httpx.get(f"{url}/_sim/state").json()
    now = datetime.fromisoformat(state["now"].replace("Z", "+00:00"))
    return World(seed=state["seed"], start=date.fromisoformat(state["start"]), days=state["days"], now=now)


if __name__ == "__main__":
    main()
