"""The embedded defaults: the local Kafka broker and the embedded ClickHouse endpoint.

Each is started only when its variable is unset (`KAFKA_BOOTSTRAP_SERVERS`, `CLICKHOUSE_URL`);
otherwise the configured cluster/server is used and nothing runs locally.
"""

from __future__ import annotations

import sys

from clickhouse.endpoint import endpoint_service
from streams.broker.local_broker import broker_service
from streams.topics import ensure_topics
from streams.simulator.server import simulator_service
from usagemart.processes import BackgroundService, port_is_open
from usagemart.settings import LOCAL_KAFKA_PORT, Settings


def kafka_broker(settings: Settings) -> BackgroundService:
    """The local single-node broker on 127.0.0.1:9092, state under `<home>/kafka`."""
    return broker_service(settings.home / "kafka", settings.home / "run", port=LOCAL_KAFKA_PORT)


def clickhouse_endpoint(settings: Settings) -> BackgroundService:
    """The embedded ClickHouse HTTP endpoint, data under `<home>/clickhouse`."""
    return endpoint_service(settings.home / "clickhouse", settings.home / "run", port=settings.clickhouse.port)


def local_services(settings: Settings) -> list[BackgroundService]:
    """The services this configuration runs locally (none when both are external)."""
    services = []
    if settings.embedded_kafka:
        services.append(kafka_broker(settings))
    if settings.embedded_clickhouse:
        services.append(clickhouse_endpoint(settings))
    return services


def up(settings: Settings) -> list[str]:
    """Start the local services (idempotent) and create missing topics; return the services' names."""
    started = []
    for service in local_services(settings):
        service.start()
        started.append(service.name)
    ensure_topics(settings.bootstrap_servers)
    return started


def down(settings: Settings) -> list[str]:
    """Stop the local services; return the names of those that were running."""
    return [service.name for service in reversed(local_services(settings)) if service.stop()]


def simulator(settings: Settings, seed: int = 7) -> BackgroundService:
    """The vendor API simulator on its loopback port."""
    return simulator_service(settings.home / "run", settings.simulator_port, seed)


def worker(settings: Settings, web_port: int = 6066) -> BackgroundService:
    """`usagemart worker` as a background process (the demo runs it; production runs it as a service)."""
    return BackgroundService(
        name="worker", run_dir=settings.home / "run",
        command=[sys.executable, "-m", "usagemart", "worker", "--web-port", str(web_port)],
        ready=lambda: port_is_open("127.0.0.1", web_port),
    )
