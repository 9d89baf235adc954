"""`usagemart worker` as a child process: started, killed, stopped, and waited on until caught up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from streams.ingest import INGESTED_TOPICS
from streams.offsets import group_lag
from usagemart.processes import free_port, log_tail
from usagemart.settings import ClickHouseTarget

INGEST_GROUP = "usagemart-worker-ingest"
"""The worker's ingest consumer group: its committed offsets say what is in ClickHouse."""


class WorkerDied(AssertionError):
    """The worker process exited while a test waited on it."""


@dataclass
class WorkerProcess:
    """One worker home (its Faust data and log) against one broker and database; run it, kill it, run it again."""

    bootstrap: str
    target: ClickHouseTarget
    home: Path
    web_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """Every run's output, appended."""
        return self.home / "worker.log"

    def start(self) -> None:
        """Start `usagemart worker` (returns at once; the worker is ready seconds later)."""
        target = self.target
        url = f"http://{target.username}:{target.password}@{target.host}:{target.port}/{target.database}"
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "CLICKHOUSE_URL": url,
               "USAGEMART_HOME": str(self.home)}
        self.home.mkdir(parents=True, exist_ok=True)
        command = [str(Path(sys.executable).with_name("usagemart")), "worker", "--web-port", str(self.web_port)]
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no commit."""
        process = self._running()
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait for a clean exit (SIGKILL if it takes over a minute)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def metric(self, name: str) -> float:
        """The sum of a Prometheus metric's samples on the worker's `/metrics` page (0 when absent)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=5) as response:
            page = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
                   if line.startswith((f"{name} ", f"{name}{{")))

    def lag(self) -> int:
        """Raw and reference records the worker has not committed yet."""
        return group_lag(self.bootstrap, INGEST_GROUP, INGESTED_TOPICS)

    def wait_caught_up(self, timeout: float = 90.0) -> None:
        """Wait until every record is committed, so every row is in ClickHouse (rows come before commits)."""
        deadline = time.monotonic() + timeout
        while self.lag() > 0:
            self._running()
            if time.monotonic() > deadline:
                raise AssertionError(f"worker still {self.lag()} records behind after {timeout:.0f}s; "
                                     f"log {self.log}:\n{log_tail(self.log)}")
            time.sleep(0.2)

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            code = None if self.process is None else self.process.returncode
            raise WorkerDied(f"worker not running (exit code {code}); log {self.log}:\n{log_tail(self.log, 40)}")
        return self.process
