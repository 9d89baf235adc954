"""The Faust worker (`usagemart worker`): reference agents and tables, the ingest service, metrics.

- Reference agents keep changelog-backed Faust tables of what attribution and pricing need
  (Anthropic API keys and users, Cursor members, api-key mappings, model price overrides).
  The in-memory lookup the hot path reads is rebuilt from those tables after recovery and kept
  current by the agents, so a mapping that arrives later is used from then on.
- The ingest service runs the batch hot path (`streams.ingest.RawIngestor`) in its own thread:
  Faust's per-event stream machinery tops out near 15k events/s on this hardware even with
  `stream.take()` and no work at all, so raw topics are consumed in batches of up to 10k
  records instead, and inserts never run on the event loop.
- `/metrics` on the worker's web port serves Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from collections.abc import Mapping
from typing import Any

import faust
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clickhouse.client import connect
from schemas.serde import DecodeError, Serde
from streams.ingest import SESSION_TIMEOUT, RawIngestor
from streams.reference import REFERENCE_TOPICS, ReferenceState
from streams.sink import ClickHouseSink
from usagemart.settings import Settings

logger = logging.getLogger(__name__)

APP_ID = "usagemart-worker"


class Worker:
    """The pieces of one worker process, shared by the agents and the ingest service."""

    def __init__(self, settings: Settings, *, group_id: str = APP_ID, web_port: int = 6066) -> None:
        self.settings = settings
        self.serde = Serde.from_settings(settings)
        self.state = ReferenceState()
        self.app = faust.App(
            group_id, broker=f"kafka://{settings.bootstrap_servers}", store="memory://",
            value_serializer="raw", key_serializer="raw", topic_partitions=1, topic_replication_factor=1,
            web_host="127.0.0.1", web_port=web_port, consumer_auto_offset_reset="earliest",
            datadir=str(settings.home / "faust"), broker_session_timeout=SESSION_TIMEOUT,
        )
        # Values are pickled decoded records: the app's codec is raw bytes, and a record has
        # datetimes and decimals that JSON would flatten.
        self.tables = {topic: self.app.GlobalTable(_table_name(topic), key_type=bytes, value_type=bytes, partitions=1)
                       for topic in REFERENCE_TOPICS}
        self.stop_event = threading.Event()
        self.ingestor = RawIngestor(
            settings.bootstrap_servers, self.serde, ClickHouseSink(lambda: connect(settings.clickhouse),
                                                                   stop_event=self.stop_event),
            self.state.lookup, lambda: self.state.prices, group_id=f"{group_id}-ingest", stop_event=self.stop_event,
        )
        self._define_agents()
        self._define_metrics_page()
        self.app.service(self._ingest_service())

    def _define_agents(self) -> None:
        topic = self.app.topic(*REFERENCE_TOPICS, key_serializer="raw", value_serializer="raw")

        @self.app.agent(topic, name="reference")
        async def reference(stream: faust.StreamT[Any]) -> None:
            async for event in stream.events():
                self.apply(event.message.topic, event.key, event.value, event.headers)

    def apply(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> None:
        """Apply one reference record to its table and to the hot path's lookup."""
        text_key = (key or b"").decode()
        record = None
        if value is not None:
            try:
                record = self.serde.decode(topic, value, list(headers.items()) if isinstance(headers, Mapping)
                                           else headers)
            except DecodeError as error:
                logger.warning("reference record skipped (the ingest path dead-letters it): %s", error)
                return
        self.tables[topic][text_key.encode()] = pickle.dumps(record)
        self.state.apply(topic, text_key or None, record)

    def rebuild_reference(self) -> int:
        """Reload the lookup from the recovered tables (after a restart)."""
        count = 0
        for topic, table in self.tables.items():
            for key, value in list(table.items()):
                self.state.apply(topic, key.decode(), pickle.loads(value))
                count += 1
        return count

    def _define_metrics_page(self) -> None:
        @self.app.page("/metrics")
        async def metrics(web: Any, request: Any) -> Any:
            return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    def _ingest_service(self) -> type[Service]:
        worker = self

        class IngestService(Service):
            """Runs the batch ingest loop in a thread once the reference tables have recovered."""

            async def on_started(self) -> None:
                await worker.app.tables.recovery.completed.wait()
                logger.info("reference tables recovered: %d records", worker.rebuild_reference())
                self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
                self._thread.start()

            def _run(self) -> None:
                try:
                    worker.ingestor.run()
                except Exception:
                    logger.exception("ingest stopped on a permanent failure; offsets of the failed batch "
                                     "were not committed")
                    worker.app.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(worker.app.stop()))

            async def on_stop(self) -> None:
                worker.stop_event.set()
                await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 60)

        return IngestService


def _table_name(topic: str) -> str:
    return topic.replace(".", "_")


# Structured logs: one JSON object per line on stderr, with any `extra=` fields of the record.
WORKER_LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "pythonjsonlogger.json.JsonFormatter",
                            "fmt": "%(asctime)s %(levelname)s %(name)s %(threadName)s %(message)s",
                            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger",
                                              "threadName": "thread"}}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"]},
}


def run_worker(settings: Settings, web_port: int = 6066, loglevel: str = "info") -> None:
    """Run the worker in the foreground until SIGTERM/SIGINT."""
    worker = Worker(settings, web_port=web_port)
    faust.Worker(worker.app, loglevel=loglevel, quiet=True, logging_config=WORKER_LOGGING).execute_from_commandline()
