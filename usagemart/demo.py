"""`usagemart demo`: the main job on embedded defaults, step by step."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer
from rich.console import Console

from clickhouse.client import connect, ensure_database
from clickhouse.migrate import migrate
from usagemart.local_services import up
from usagemart.settings import Settings

ROUND_TRIP_TOPIC = "raw.anthropic.usage"


def run_demo(settings: Settings, console: Console) -> None:
    """Start services, migrate, and round-trip a few records Kafka -> ClickHouse."""
    started = time.monotonic()
    console.rule("usage-mart demo")
    console.print(f"services: {', '.join(up(settings)) or 'external'}")
    ensure_database(settings.clickhouse)
    with connect(settings.clickhouse) as client:
        applied = migrate(client, settings.clickhouse_cluster)
        console.print(f"migrations applied: {len(applied)}")
        run_id = uuid.uuid4().hex
        sent = _produce_sample(settings.bootstrap_servers, run_id)
        rows = _consume_into_landing(settings.bootstrap_servers, run_id, sent, client)
        console.print(f"round trip: {sent} records produced to {ROUND_TRIP_TOPIC}, "
                      f"{rows} landed in raw_anthropic_usage")
    console.print(f"done in {time.monotonic() - started:.1f}s")


def _produce_sample(bootstrap: str, run_id: str, count: int = 5) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    fetched_at = datetime.now(UTC).isoformat()
    for index in range(count):
        record = {"api_key_id": f"apikey_demo_{index}", "model": "claude-sonnet-4", "output_tokens": 100 * index}
        producer.produce(ROUND_TRIP_TOPIC, key=record["api_key_id"], value=json.dumps(record).encode(),
                         headers={"source": b"demo", "poll_run_id": run_id.encode(), "fetched_at": fetched_at.encode()})
    producer.flush(30)
    return count


def _consume_into_landing(bootstrap: str, run_id: str, expected: int, client) -> int:  # type: ignore[no-untyped-def]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-{run_id}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([ROUND_TRIP_TOPIC])
    rows: list[list[object]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(rows) < expected:
        for message in consumer.consume(500, timeout=1.0):
            if message.error():
                continue
            headers = {key: value.decode() for key, value in message.headers() or []}
            if headers.get("poll_run_id") != run_id:
                continue
            rows.append([message.key().decode(), message.value().decode(), "demo/json", headers["source"], run_id,
                         datetime.fromisoformat(headers["fetched_at"]), message.topic(), message.partition(),
                         message.offset()])
    consumer.close()
    client.insert("raw_anthropic_usage", rows, column_names=[
        "natural_key", "record", "schema_ref", "source", "poll_run_id", "fetched_at",
        "kafka_topic", "kafka_partition", "kafka_offset"])
    result = client.query("SELECT count() FROM raw_anthropic_usage WHERE poll_run_id = {run:String}",
                          parameters={"run": run_id})
    return int(result.result_rows[0][0])
