"""Prometheus metrics of the worker: lag, batch sizes, insert latency, DLQ counts."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECORDS_CONSUMED = Counter("usagemart_records_consumed_total", "Raw records consumed", ["topic"])
BATCH_SIZE = Histogram("usagemart_batch_size", "Records per processed batch",
                       buckets=(1, 10, 100, 1_000, 5_000, 10_000, 50_000))
EVENTS_WRITTEN = Counter("usagemart_events_written_total", "Normalized events written", ["kind"])
ROWS_WRITTEN = Counter("usagemart_rows_written_total", "Rows inserted into ClickHouse", ["table"])
INSERT_SECONDS = Histogram("usagemart_insert_seconds", "ClickHouse insert latency", ["table"],
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
INSERT_WAITS = Counter("usagemart_insert_retries_total", "Inserts retried while ClickHouse was unavailable",
                       ["table"])
DLQ_RECORDS = Counter("usagemart_dlq_records_total", "Records sent to a dead-letter queue", ["stage", "topic"])
CONSUMER_LAG = Gauge("usagemart_consumer_lag", "Records behind the end of the partition",
                     ["topic", "partition"])
