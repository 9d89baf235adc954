"""Dead letters: a record that failed a stage goes to `dlq.<stage>` and the `dlq_records` table.

The DLQ record keeps the error, where the record came from and its original key, value and
headers, so it can be re-driven once the cause is fixed. The stream goes on.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from streams.metrics import DLQ_RECORDS

DLQ_COLUMNS = ("stage", "error", "source_topic", "source_partition", "source_offset", "original_key",
               "original_value", "failed_at")


def dlq_topic(stage: str) -> str:
    """The dead-letter topic of a stage: `decode`, `normalize` or `sink`."""
    return f"dlq.{stage}"


class DeadLetters:
    """Dead letters of one consumed batch: records for the DLQ topics and rows for `dlq_records`."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.columns: dict[str, list[Any]] = {name: [] for name in DLQ_COLUMNS}

    def __len__(self) -> int:
        return len(self.columns["stage"])

    def add(self, stage: str, message: Message, error: str) -> None:
        now = datetime.now(UTC)
        key, value = message.key(), message.value()
        self.records[dlq_topic(stage)].append({
            "stage": stage, "error": error, "source_topic": message.topic(), "source_partition": message.partition(),
            "source_offset": message.offset(), "key": key, "value": value,
            "headers": [{"key": name, "value": content} for name, content in message.headers() or []],
            "failed_at": now,
        })
        for name, item in zip(DLQ_COLUMNS, (stage, error, message.topic(), message.partition(), message.offset(),
                                            (key or b"").decode("utf-8", "replace"),
                                            base64.b64encode(value or b"").decode(), now), strict=True):
            self.columns[name].append(item)
        DLQ_RECORDS.labels(stage, message.topic()).inc()
