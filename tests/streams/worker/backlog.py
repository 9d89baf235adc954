"""A simulated world's raw records published straight to the raw topics, as the pollers publish them.

Faster than polling the simulator over HTTP, for tests that need a backlog rather than the
pollers: the records are `tests.streams.normalize.simulated.raw_records` (vendor rows ->
`conform` -> Avro), keyed and with the headers of `streams.pollers.publisher.Publisher`.
"""

from __future__ import annotations

import uuid

from schemas.serde import HeaderFraming, Serde
from streams.normalize import EVENT_TOPICS
from streams.pollers.publisher import Publisher
from streams.simulator.world import World
from tests.streams.normalize.simulated import raw_records

PAGE = 5000
"""Records per published page (one `fetched_at` each), about a vendor page's worth."""


def publish_world(bootstrap: str, world: World) -> dict[str, int]:
    """Publish every event topic's records of `world`; return how many went to each topic."""
    counts: dict[str, int] = {}
    for topic in sorted(EVENT_TOPICS):
        publisher = Publisher(bootstrap, Serde(HeaderFraming()), topic.split(".")[1], uuid.uuid4().hex)
        try:
            records = raw_records(world, topic)
            counts[topic] = sum(publisher.publish(topic, records[start:start + PAGE])
                                for start in range(0, len(records), PAGE))
        finally:
            publisher.close()
    return counts
