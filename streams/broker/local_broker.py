"""The local Kafka broker: Apache Kafka 3.9 from Maven Central, single-node KRaft, run with the local Java.

`ensure_jars()` fetches the broker's jars once into a git-ignored cache; `broker_service()` returns
the `BackgroundService` that `usagemart up` / `down` and the tests start and stop.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import logging
import os
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from usagemart.processes import BackgroundService, ServiceError, free_port, port_is_open

logger = logging.getLogger(__name__)

KAFKA_VERSION = "3.9.1"
MIN_JAVA_VERSION = 17
BROKER_DIR = Path(__file__).resolve().parent
POM = BROKER_DIR / "pom.xml"
LOG4J_CONFIG = BROKER_DIR / "log4j.properties"
REPO_ROOT = BROKER_DIR.parent.parent
DEFAULT_LIBS_DIR = REPO_ROOT / ".cache" / f"kafka-{KAFKA_VERSION}" / "libs"
JVM_OPTIONS = (
    "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
    f"-Dlog4j.configuration=file:{LOG4J_CONFIG}",
)

_COMPLETE_MARKER = ".complete"
_MAVEN_TIMEOUT_SECONDS = 900


def java_executable() -> str:
    """The `java` on PATH, checked to be version 17 or newer."""
    java = shutil.which("java")
    if java is None:
        raise ServiceError(
            f"Java {MIN_JAVA_VERSION}+ not found on PATH; the local Kafka broker needs it "
            f"(install a JDK {MIN_JAVA_VERSION}+, or set KAFKA_BOOTSTRAP_SERVERS to use another cluster)"
        )
    version = _java_major_version(java)
    if version < MIN_JAVA_VERSION:
        raise ServiceError(
            f"{java} is Java {version}; the local Kafka broker needs Java {MIN_JAVA_VERSION}+ on PATH"
        )
    return java


@functools.cache
def _java_version_output(java: str) -> str:
    try:
        return subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    except OSError:
        return ""


def _java_major_version(java: str) -> int:
    output = _java_version_output(java)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        raise ServiceError(f"cannot tell the Java version from `{java} -version`:\n{output.strip()}")
    major, minor = int(match[1]), int(match[2] or 0)
    # Java 8 and older report themselves as "1.8.0_…".
    return minor if major == 1 else major


def ensure_jars(cache_dir: Path | None = None) -> Path:
    """The folder of broker jars, fetched from Maven Central with Maven on first use."""
    java_executable()
    libs = (cache_dir or DEFAULT_LIBS_DIR).resolve()
    if _jars_complete(libs):
        return libs
    with _cache_lock(libs):
        if not _jars_complete(libs):
            _fetch_jars(libs)
    return libs


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _jars_complete(libs: Path) -> bool:
    # The marker is written only after a complete copy and names the pom it came from, so an
    # interrupted fetch or an edited pom fetches again.
    marker = libs / _COMPLETE_MARKER
    return marker.exists() and marker.read_text().strip() == _pom_digest()


@contextmanager
def _cache_lock(libs: Path) -> Iterator[None]:
    # Several test sessions on one machine share the cache; one writes it, the others wait.
    libs.parent.mkdir(parents=True, exist_ok=True)
    with (libs.parent / f".{libs.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fetch_jars(libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError(
            f"Maven (mvn) not found on PATH; it is needed once to fetch the Kafka {KAFKA_VERSION} "
            f"jars into {libs}"
        )
    # A half-copied jar may look newer than the one in ~/.m2 and would then not be replaced.
    shutil.rmtree(libs, ignore_errors=True)
    logger.info("fetching Kafka %s jars from Maven Central into %s", KAFKA_VERSION, libs)
    command = [
        mvn, "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={libs}",
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=_MAVEN_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as error:
        raise ServiceError(f"Maven did not fetch the Kafka jars within {_MAVEN_TIMEOUT_SECONDS}s") from error
    if result.returncode != 0 or not (libs / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        # Maven prints colour resets even in batch mode.
        output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
        tail = "\n".join(output.strip().splitlines()[-30:])
        raise ServiceError(f"Maven could not fetch the Kafka jars (exit {result.returncode}):\n{tail}")
    (libs / _COMPLETE_MARKER).write_text(_pom_digest())


def kafka_ready(bootstrap: str, timeout: float = 1.0) -> bool:
    """True when the cluster at `bootstrap` answers a metadata request with at least one broker."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": logger})
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:
        return False


@dataclass(kw_only=True)
class LocalBroker(BackgroundService):
    """The local single-node broker; `start()` also checks its ports and prepares its storage.

    The first run dumps the classes it loaded into a class-data-sharing archive next to the jars;
    later starts map it instead of loading and verifying them again (~0.5s of a ~1.5s start).
    """

    state_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap_servers(self) -> str:
        """The bootstrap string clients use."""
        return f"127.0.0.1:{self.port}"

    @property
    def properties_file(self) -> Path:
        """The broker configuration, rewritten on every start."""
        return self.state_dir / "server.properties"

    @property
    def log_dir(self) -> Path:
        """Kafka's data (`log.dirs`): topics, offsets and the KRaft metadata log."""
        return self.state_dir / "data"

    def start(self, timeout: float = 60.0) -> int:
        """Check the ports, fetch the jars, format storage on first use, start and wait until ready."""
        if self.pid() is None:
            self._check_ports_free()
            self._publish_class_archive()
        libs = ensure_jars()
        java = java_executable()
        self.properties_file.write_text(_server_properties(self.port, self.controller_port, self.log_dir))
        self._format_storage(java, libs)
        # Recomputed here: a class archive may have been published since construction.
        self.command = _broker_command(java, libs, self.state_dir)
        return super().start(timeout)

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the broker, wait for it to exit, then keep the class archive it dumped."""
        stopped = super().stop(timeout)
        self._publish_class_archive()
        return stopped

    def _check_ports_free(self) -> None:
        for role, port in (("broker", self.port), ("controller", self.controller_port)):
            if not _can_bind(port):
                raise ServiceError(
                    f"port {port} on 127.0.0.1 (the Kafka {role} port) is already in use by another "
                    f"process; stop it or choose another port for the broker in {self.state_dir}"
                )

    def _format_storage(self, java: str, libs: Path) -> None:
        if (self.log_dir / "meta.properties").exists():
            return
        result = subprocess.run(
            [
                java, *JVM_OPTIONS, "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format",
                # `--cluster-id=` form: an id may begin with "-", which the tool would read as an option.
                f"--cluster-id={_cluster_id(self.state_dir)}", "-c", str(self.properties_file), "--ignore-formatted",
            ],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-2000:]
            raise ServiceError(f"formatting Kafka storage in {self.log_dir} failed:\n{output}")

    def _publish_class_archive(self) -> None:
        # Each broker dumps into its own state dir and the archive is moved into the shared cache
        # with a rename only after the JVM exited, so no JVM ever maps a half-written archive.
        dump = _archive_dump(self.state_dir)
        if not dump.exists() or self.pid() is not None:
            return
        target = _class_archive(shutil.which("java") or "java", DEFAULT_LIBS_DIR)
        with _cache_lock(DEFAULT_LIBS_DIR):
            if not target.exists() and target.parent.exists():
                staged = target.with_name(f".{target.name}.{os.getpid()}")
                shutil.copyfile(dump, staged)
                staged.replace(target)
        dump.unlink()


def broker_service(
    state_dir: Path, run_dir: Path, port: int = 9092, controller_port: int | None = None
) -> LocalBroker:
    """The local broker with its data under `state_dir` and its pid and log files in `run_dir`.

    The controller port, when not given, is persisted in `state_dir` on first use (port + 1 when
    that is free, else any free port) so that restarts keep it.
    """
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    bootstrap = f"127.0.0.1:{port}"
    return LocalBroker(
        name="kafka",
        run_dir=run_dir.resolve(),
        command=_broker_command(shutil.which("java") or "java", DEFAULT_LIBS_DIR, state_dir),
        ready=lambda: port_is_open("127.0.0.1", port) and kafka_ready(bootstrap),
        state_dir=state_dir,
        port=port,
        controller_port=_controller_port(state_dir, port, controller_port),
    )


def _broker_command(java: str, libs: Path, state_dir: Path) -> list[str]:
    archive = _class_archive(java, libs)
    if archive.exists():
        sharing = f"-XX:SharedArchiveFile={archive}"
    else:
        sharing = f"-XX:ArchiveClassesAtExit={_archive_dump(state_dir)}"
    properties = state_dir / "server.properties"
    return [java, *JVM_OPTIONS, sharing, "-cp", f"{libs}/*", "kafka.Kafka", str(properties)]


def _archive_dump(state_dir: Path) -> Path:
    return state_dir / "classes.jsa.partial"


def _class_archive(java: str, libs: Path) -> Path:
    # An archive only fits the JVM build that wrote it; it lives in `libs` so a re-fetch drops it.
    jvm = hashlib.sha256(_java_version_output(java).encode()).hexdigest()[:12]
    return libs / f"classes-{jvm}.jsa"


def _controller_port(state_dir: Path, port: int, requested: int | None) -> int:
    saved = state_dir / "controller.port"
    if requested is None and saved.exists():
        return int(saved.read_text().strip())
    chosen = requested or (port + 1 if _can_bind(port + 1) else free_port())
    saved.write_text(str(chosen))
    return chosen


def _can_bind(port: int) -> bool:
    # SO_REUSEADDR like the JVM's server sockets: a port in TIME_WAIT after our own broker
    # stopped is free, one that another socket holds is not.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cluster_id(state_dir: Path) -> str:
    saved = state_dir / "cluster.id"
    if not saved.exists():
        saved.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode())
    return saved.read_text().strip()


def _server_properties(port: int, controller_port: int, log_dir: Path) -> str:
    properties = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(log_dir),
        # Topics are created with their policies by streams.topics.ensure_topics; an auto-created
        # topic would silently get delete-after-7-days where history must be kept.
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.cleaner.dedupe.buffer.size": "2097152",
        "num.network.threads": "2",
        "num.io.threads": "2",
    }
    return "".join(f"{key}={value}\n" for key, value in properties.items())
