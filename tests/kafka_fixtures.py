"""A real Kafka for tests: a configured cluster, else a Docker container, else the project's local broker.

`start_kafka` is a generator so that session and module fixtures can `yield from` it.
Tests never use the fixed port 9092: other test sessions may run on the same machine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import docker
from docker.errors import DockerException
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from streams.broker.local_broker import KAFKA_VERSION, broker_service
from usagemart.processes import free_port

logger = logging.getLogger(__name__)

KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
_CONTAINER_PORT = 9092
_START_SCRIPT = "/tmp/usagemart-kafka-start.sh"
# The official image's single-node KRaft settings, with an extra BROKER listener so that the
# PLAINTEXT one can advertise the host port Docker maps (known only once the container runs).
_CONTAINER_ENV = {
    "KAFKA_NODE_ID": "1",
    "KAFKA_PROCESS_ROLES": "broker,controller",
    "KAFKA_LISTENERS": "PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094",
    "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "BROKER:PLAINTEXT,PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "KAFKA_INTER_BROKER_LISTENER_NAME": "BROKER",
    "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
    "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9094",
    "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
    "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
    "KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS": "1",
    "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
    "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
    "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
}


def start_kafka(tmp_dir: Path) -> Iterator[str]:
    """Yield the bootstrap string of a real Kafka, and clean it up afterwards.

    `KAFKA_BOOTSTRAP_SERVERS` when set, else the official image where a Docker engine answers,
    else the project's local broker on free ports with its files in `tmp_dir`.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        logger.info("tests use the Kafka cluster at %s", external)
        yield external
    elif _docker_answers():
        yield from _kafka_container()
    else:
        yield from _local_broker(tmp_dir)


def _docker_answers() -> bool:
    try:
        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except DockerException:
        return False


def _kafka_container() -> Iterator[str]:
    # testcontainers' KafkaContainer drives the Confluent image's own scripts; for the official
    # image the advertised listener is written into a start script the container waits for.
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_envs(**_CONTAINER_ENV)
        .with_exposed_ports(_CONTAINER_PORT)
        .with_command(["sh", "-c", f"while [ ! -f {_START_SCRIPT} ]; do sleep 0.1; done; sh {_START_SCRIPT}"])
    )
    container.start()
    try:
        bootstrap = f"{container.get_container_host_ip()}:{container.get_exposed_port(_CONTAINER_PORT)}"
        script = (
            f"export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://{bootstrap},BROKER://$(hostname):9093\n"
            "exec /etc/kafka/docker/run\n"
        )
        container.copy_into_container(script.encode(), _START_SCRIPT, 0o755)
        LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(60).wait_until_ready(container)
        logger.info("tests use the Kafka container %s at %s", KAFKA_IMAGE, bootstrap)
        yield bootstrap
    finally:
        container.stop()


def _local_broker(tmp_dir: Path) -> Iterator[str]:
    port = free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()
    broker = broker_service(tmp_dir / "kafka", tmp_dir / "run", port=port, controller_port=controller_port)
    broker.start()
    logger.info("tests use the local broker at %s (log: %s)", broker.bootstrap_servers, broker.log_file)
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()
