"""`usagemart poll anthropic --since …` killed mid-backfill and re-run: it resumes and leaves no gap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.streams.pollers.anthropic_truth import assert_backfilled, backfill_rows
from tests.streams.pollers.conftest import Simulated

Checkpoints = dict[str, dict[str, Any]]
SLOW_REQUEST_SECONDS = 0.03
"""Every vendor request is held this long, so that a backfill lasts long enough to be killed."""


def test_killed_backfill_resumes_without_gaps(simulator: Simulated, raw_topics: str, tmp_path: Path) -> None:
    httpx.post(f"{simulator.url}/_sim/faults", json={"rules": [
        {"fault": "slow", "path": "/v1/organizations/*", "delay": SLOW_REQUEST_SECONDS}]}).raise_for_status()
    since = f"{simulator.first_day:%Y-%m-%dT%H:%M:%S}"
    command = [sys.executable, "-m", "usagemart", "poll", "anthropic", "--since", since]
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": raw_topics, "USAGEMART_HOME": str(tmp_path / "home"),
           "ANTHROPIC_BASE_URL": simulator.url, "ANTHROPIC_ADMIN_API_KEY": "sk-ant-admin-test",
           "ANTHROPIC_REQUESTS_PER_MINUTE": "1000000"}
    checkpoint_file = tmp_path / "home" / "checkpoints" / "anthropic.json"
    run_ids: set[str] = set()

    # Killed once in the hourly report's pages, once in the Claude Code days.
    for reached in (lambda saved: "usage_report_1h" in saved, lambda saved: "claude_code" in saved):
        saved = _kill_when(command, env, tmp_path, checkpoint_file, reached)
        run_ids |= {state["poll_run_id"] for state in saved.values()}
    finished = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    final = json.loads(checkpoint_file.read_text())
    last_run = {state["poll_run_id"] for state in final.values()}
    assert len(last_run) == 1 and not last_run & run_ids

    expected = backfill_rows(simulator.world, simulator.first_day)
    published = assert_backfilled(raw_topics, expected, run_ids | last_run)
    resumed = [record for record in published["raw.anthropic.usage"]
               if record.headers["poll_run_id"].decode() in last_run]
    assert len(resumed) < len(expected["raw.anthropic.usage"]) / 10, "the last run started over instead of resuming"


def _kill_when(command: list[str], env: dict[str, str], cwd: Path, checkpoint_file: Path,
               reached: Callable[[Checkpoints], bool]) -> Checkpoints:
    """Run `command` and SIGKILL it once its checkpoint satisfies `reached`; the checkpoint left then."""
    log = cwd / "poll.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=output)
        try:
            deadline = time.monotonic() + 60
            while not reached(_read(checkpoint_file)):
                assert process.poll() is None, f"the poller ended before it was killed: {log.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the poller made no progress"
                time.sleep(0.01)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    # Valid JSON at the kill (the store replaces the file atomically), whatever was being written.
    return json.loads(checkpoint_file.read_text())  # type: ignore[no-any-return]


def _read(checkpoint_file: Path) -> Checkpoints:
    return json.loads(checkpoint_file.read_text()) if checkpoint_file.exists() else {}
