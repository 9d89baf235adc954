"""The Kafka broker the project runs on: clients, topic creation, restarts, start-up errors."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from streams.broker.local_broker import KAFKA_VERSION, broker_service, ensure_jars
from streams.topics import CATALOG, ensure_topics
from tests.kafka_fixtures import start_kafka
from usagemart.processes import ServiceError, free_port, port_is_open

pytestmark = pytest.mark.integration

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="the local broker needs Java 17+")
needs_maven = pytest.mark.skipif(shutil.which("mvn") is None, reason="fetching the jars needs Maven")


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own Kafka, so that creating the whole catalog leaves the session broker alone."""
    yield from start_kafka(tmp_path_factory.mktemp("kafka"))


def scratch_topic(bootstrap: str, partitions: int = 3) -> str:
    """A new, uniquely named topic outside the catalog, so tests on a shared cluster do not meet."""
    name = f"test.broker.{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=-1)])[name].result(30)
    return name


def produce(bootstrap: str, topic: str, count: int) -> None:
    """Send `count` keyed records with headers through an idempotent `acks=all` producer."""
    failures: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(error)

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5})
    for seq in range(count):
        producer.produce(topic, key=f"key-{seq}".encode(), value=f"value-{seq}".encode(),
                         headers=[("source", b"test"), ("seq", str(seq).encode())], on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []


def consume_all(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Message]:
    """Read `count` records from the start of every partition of `topic`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in partitions])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < count and time.monotonic() < deadline:
            for message in consumer.consume(1000, timeout=0.5):
                assert message.error() is None, message.error()
                messages.append(message)
    finally:
        consumer.close()
    return messages


def test_confluent_roundtrip_keeps_keys_headers_and_order(bootstrap: str) -> None:
    topic = scratch_topic(bootstrap)
    produce(bootstrap, topic, 10_000)

    messages = consume_all(bootstrap, topic, 10_000)

    assert len(messages) == 10_000
    by_key = {message.key(): message for message in messages}
    assert len(by_key) == 10_000
    for seq in (0, 4_999, 9_999):
        message = by_key[f"key-{seq}".encode()]
        assert message.value() == f"value-{seq}".encode()
        assert message.headers() == [("source", b"test"), ("seq", str(seq).encode())]
    for partition in {message.partition() for message in messages}:
        seqs = [int(dict(m.headers())["seq"]) for m in messages if m.partition() == partition]
        assert seqs == sorted(seqs)


def test_aiokafka_roundtrip_with_a_consumer_group(bootstrap: str) -> None:
    topic = scratch_topic(bootstrap)

    received, committed = asyncio.run(aiokafka_roundtrip(bootstrap, topic, 200))

    assert received == {f"key-{seq}".encode(): (f"value-{seq}".encode(), b"aiokafka") for seq in range(200)}
    assert committed == 200


async def aiokafka_roundtrip(
    bootstrap: str, topic: str, count: int
) -> tuple[dict[bytes, tuple[bytes, bytes]], int]:
    """Produce `count` records, read them in a consumer group and commit; return them and the commits."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for seq in range(count):
            await producer.send(topic, key=f"key-{seq}".encode(), value=f"value-{seq}".encode(),
                                headers=[("source", b"aiokafka")])
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"test-{uuid.uuid4().hex}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    received: dict[bytes, tuple[bytes, bytes]] = {}
    try:
        async with asyncio.timeout(30):
            while len(received) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    received.update({r.key: (r.value, dict(r.headers)["source"]) for r in records})
        await consumer.commit()
        committed = sum([await consumer.committed(partition) or 0 for partition in consumer.assignment()])
    finally:
        await consumer.stop()
    return received, committed


def test_ensure_topics_creates_the_catalog_once_with_its_policies(bootstrap: str) -> None:
    created = ensure_topics(bootstrap)

    assert set(created) <= set(CATALOG)
    assert ensure_topics(bootstrap) == []
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = admin.list_topics(timeout=10).topics
    assert set(CATALOG) <= set(topics)
    for name in created:
        assert len(topics[name].partitions) == CATALOG[name].partitions
    configs = topic_configs(admin, ["ref.pricebook", "raw.anthropic.api_keys", "raw.anthropic.usage"])
    assert configs["ref.pricebook"]["cleanup.policy"] == "compact"
    assert configs["raw.anthropic.api_keys"]["cleanup.policy"] == "compact"
    assert configs["raw.anthropic.usage"]["cleanup.policy"] == "delete"
    assert configs["raw.anthropic.usage"]["retention.ms"] == "-1"


def test_ensure_topics_rejects_names_outside_the_catalog() -> None:
    with pytest.raises(ValueError, match="not in the topic catalog: raw.nope"):
        ensure_topics("127.0.0.1:1", ["raw.anthropic.usage", "raw.nope"])


def topic_configs(admin: AdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The effective configuration of each topic, as strings."""
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    return {
        resource.name: {key: entry.value for key, entry in future.result(10).items()}
        for resource, future in admin.describe_configs(resources).items()
    }


@needs_java
def test_restart_keeps_topics_data_and_ports(tmp_path: Path) -> None:
    broker = broker_service(tmp_path / "state", tmp_path / "run", port=free_port())
    broker.start()
    try:
        assert ensure_topics(broker.bootstrap_servers, ["raw.cursor.usage_events"], partitions=2) == [
            "raw.cursor.usage_events"
        ]
        produce(broker.bootstrap_servers, "raw.cursor.usage_events", 1_000)
        broker.stop()
        assert broker.pid() is None and not port_is_open("127.0.0.1", broker.port)

        restarted = broker_service(tmp_path / "state", tmp_path / "run", port=broker.port)
        assert restarted.controller_port == broker.controller_port
        restarted.start()

        messages = consume_all(restarted.bootstrap_servers, "raw.cursor.usage_events", 1_000)
        assert {message.key() for message in messages} == {f"key-{seq}".encode() for seq in range(1_000)}
        assert len(messages) == 1_000
        assert ensure_topics(restarted.bootstrap_servers, ["raw.cursor.usage_events"]) == []
        metadata = AdminClient({"bootstrap.servers": restarted.bootstrap_servers}).list_topics(timeout=10)
        assert len(metadata.topics["raw.cursor.usage_events"].partitions) == 2
    finally:
        broker.stop()  # the same pid file as `restarted`


@pytest.mark.parametrize("role", ["broker", "controller"])
@pytest.mark.parametrize("listening", [True, False], ids=["listening", "bound"])
def test_start_names_the_port_another_process_holds(tmp_path: Path, role: str, listening: bool) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        if listening:
            holder.listen()
        taken = holder.getsockname()[1]
        other = free_port()
        port, controller_port = (taken, other) if role == "broker" else (other, taken)
        broker = broker_service(tmp_path / "state", tmp_path / "run", port, controller_port)

        expected = f"port {taken} on 127.0.0.1 (the Kafka {role} port) is already in use"
        with pytest.raises(ServiceError, match=re.escape(expected)):
            broker.start()
        assert broker.pid() is None


def test_missing_java_is_reported_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(ServiceError, match="Java 17\\+ not found on PATH"):
        ensure_jars(tmp_path / "libs")


@needs_java
@needs_maven
def test_an_interrupted_jar_fetch_is_fetched_again(tmp_path: Path) -> None:
    libs = tmp_path / "libs"
    libs.mkdir()
    kafka_jar = f"kafka_2.13-{KAFKA_VERSION}.jar"
    (libs / kafka_jar).write_bytes(b"truncated")

    assert ensure_jars(libs) == libs

    assert (libs / kafka_jar).stat().st_size == (ensure_jars() / kafka_jar).stat().st_size
    marker = libs / ".complete"
    written = marker.stat().st_mtime_ns
    ensure_jars(libs)
    assert marker.stat().st_mtime_ns == written
