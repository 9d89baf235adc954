"""Deliveries against the real broker: acknowledged records confirm, undeliverable ones are reported."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from streams.delivery import Deliveries

pytestmark = pytest.mark.integration


def test_acknowledged_records_confirm_and_arrive(kafka_bootstrap: str) -> None:
    topic = f"delivery-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1)])[topic].result(30)
    deliveries = Deliveries(Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"}))

    for index in range(3):
        deliveries.produce(topic, f"value-{index}".encode(), f"key-{index}".encode(), [("h", b"1")])

    assert deliveries.confirm() is None
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        messages = consumer.consume(3, timeout=30)
    finally:
        consumer.close()
    assert [(m.key(), m.value(), m.headers()) for m in messages] == [
        (f"key-{index}".encode(), f"value-{index}".encode(), [("h", b"1")]) for index in range(3)]


def test_an_undeliverable_record_is_reported_then_forgotten(kafka_bootstrap: str) -> None:
    # Topics are never auto-created here, so a record for a missing one times out undelivered.
    deliveries = Deliveries(Producer({"bootstrap.servers": kafka_bootstrap, "message.timeout.ms": 1000}))

    deliveries.produce(f"missing-{uuid.uuid4().hex[:8]}", b"value", b"key", [])

    problem = deliveries.confirm(timeout=30)
    assert problem is not None and problem.startswith("1 records failed, 0 unacknowledged (first error: ")
    assert deliveries.confirm() is None
