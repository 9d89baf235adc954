"""The topic catalog (names and policies from ARCHITECTURE.md) and idempotent topic creation.

Raw and reference topics are the system of record that replay rebuilds everything from: raw
topics keep every record (`retention.ms=-1`), entity-like raw topics and reference topics are
compacted (the latest record per key is kept forever). Derived topics keep a week, DLQs a month,
and `alerts`, the record of which budget alerts were sent, is compacted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic, TopicMetadata

logger = logging.getLogger(__name__)

_DAY_MS = 24 * 60 * 60 * 1000
EVENT_PARTITIONS = 3
"""Default partitions of high-volume topics (raw usage, events): the worker's parallelism."""
SMALL_PARTITIONS = 1
"""Default partitions of small entity, reference, DLQ and alert topics."""

_KEEP_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
_COMPACTED = {"cleanup.policy": "compact"}
_WEEK = {"cleanup.policy": "delete", "retention.ms": str(7 * _DAY_MS)}
_MONTH = {"cleanup.policy": "delete", "retention.ms": str(30 * _DAY_MS)}


@dataclass(frozen=True)
class TopicSpec:
    """A topic's name, default partition count and topic-level configuration."""

    name: str
    partitions: int
    config: Mapping[str, str] = field(default_factory=dict)


DLQ_STAGES = ("decode", "normalize", "sink")
"""Where a record can fail: Avro decoding, validation and normalization, the ClickHouse write."""

CATALOG: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in [
        TopicSpec("raw.anthropic.usage", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.anthropic.cost", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.anthropic.claude_code", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.anthropic.api_keys", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.anthropic.users", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.cursor.daily_usage", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.cursor.usage_events", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.cursor.spend", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.cursor.members", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.stripe.charges", EVENT_PARTITIONS, _COMPACTED),
        TopicSpec("raw.product.usage", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.funnel.sessions", EVENT_PARTITIONS, _COMPACTED),
        TopicSpec("raw.funnel.subscriptions", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.funnel.funnels", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.funnel.product_events", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("raw.helpdesk.tickets", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.helpdesk.customers", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.helpdesk.products", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("raw.helpdesk.logins", EVENT_PARTITIONS, _KEEP_FOREVER),
        TopicSpec("ref.catalog.customers", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.catalog.products", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.catalog.plans", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.catalog.countries", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.catalog.currencies", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.pricebook", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.api_key_mappings", SMALL_PARTITIONS, _COMPACTED),
        TopicSpec("ref.budgets", SMALL_PARTITIONS, _COMPACTED),
        # Derived: replay rebuilds them from the raw topics, so a week covers any sink outage.
        TopicSpec("usage.events", EVENT_PARTITIONS, _WEEK),
        TopicSpec("cost.events", EVENT_PARTITIONS, _WEEK),
        *(TopicSpec(f"dlq.{stage}", SMALL_PARTITIONS, _MONTH) for stage in DLQ_STAGES),
        # Not derived: whether an alert was sent cannot be rebuilt from the raw topics, so the topic
        # keeps the latest record per alert id forever and the alert evaluation reads it back.
        TopicSpec("alerts", SMALL_PARTITIONS, _COMPACTED),
    ]
}


def ensure_topics(
    bootstrap: str,
    names: Iterable[str] | None = None,
    partitions: int | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Create the catalog topics (all, or `names`) that do not exist yet; return the created names.

    `partitions` overrides every created topic's default count; existing topics are left as
    they are. Returns once the new topics have a leader for every partition.
    """
    specs = _select(names)
    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": logger})
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = [spec for spec in specs if spec.name not in existing]
    if not missing:
        return []
    new_topics = [
        NewTopic(spec.name, num_partitions=partitions or spec.partitions, replication_factor=-1,
                 config=dict(spec.config))
        for spec in missing
    ]
    created = [
        name for name, future in admin.create_topics(new_topics, operation_timeout=timeout).items()
        if _created(name, future.exception(timeout))
    ]
    _wait_for_leaders(admin, [spec.name for spec in missing], timeout)
    logger.info("created topics %s", ", ".join(created))
    return created


def _select(names: Iterable[str] | None) -> list[TopicSpec]:
    if names is None:
        return list(CATALOG.values())
    wanted = list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in CATALOG]
    if unknown:
        raise ValueError(f"not in the topic catalog: {', '.join(unknown)}")
    return [CATALOG[name] for name in wanted]


def _created(name: str, error: BaseException | None) -> bool:
    if error is None:
        return True
    # Another process (a second worker, a concurrent test) created it between our list and create.
    if isinstance(error, KafkaException) and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
        return False
    raise KafkaException(f"cannot create topic {name}: {error}") from error


def _wait_for_leaders(admin: AdminClient, names: list[str], timeout: float) -> None:
    # CreateTopics returns when the controller has the topic; producers need the partition
    # leaders in the metadata, which reaches the brokers a moment later.
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        topics = admin.list_topics(timeout=max(deadline - time.monotonic(), 0.1)).topics
        pending = {name for name in pending if not _has_leaders(topics.get(name))}
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics without partition leaders after {timeout:.0f}s: {sorted(pending)}")
        time.sleep(0.05)


def _has_leaders(topic: TopicMetadata | None) -> bool:
    if topic is None or topic.error is not None or not topic.partitions:
        return False
    return all(partition.leader >= 0 and partition.error is None for partition in topic.partitions.values())
