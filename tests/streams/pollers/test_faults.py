"""Vendor faults during a full Anthropic backfill: nothing lost, nothing but identical re-deliveries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from streams.pollers import anthropic
from streams.pollers.source import poll_once
from streams.pollers.vendor_http import MalformedPage
from tests.streams.pollers.anthropic_truth import assert_backfilled, backfill_rows
from tests.streams.pollers.conftest import WORLD_DAYS, Simulated
from tests.streams.pollers.passes import quick_retries
from tests.streams.topic_reader import read_topic
from usagemart.settings import Settings

REPORTS = "/v1/organizations/*"
MESSAGES = "/v1/organizations/usage_report/messages"
TIMEOUT_SECONDS = 0.5
HOUR = timedelta(hours=1)
BACKFILL_DAYS = 30
"""Every resource, over the last 30 days of the world: a third of the requests of 90 days, as many kinds."""

FAULTS: list[dict[str, Any]] = [
    {"fault": "rate_limit", "every": 9, "times": 2, "retry_after": 1},
    {"fault": "rate_limit_no_retry_after", "every": 9, "times": 4},
    {"fault": "server_error", "every": 7},
    {"fault": "overloaded", "every": 7},
    {"fault": "slow", "every": 9, "delay": 0.2},
    {"fault": "timeout", "every": 13, "times": 3, "delay": 3 * TIMEOUT_SECONDS},
    {"fault": "truncated", "every": 6},
    {"fault": "repeat_page", "every": 2},
]


SOURCE = quick_retries(anthropic.SOURCE)


@pytest.mark.parametrize("rule", FAULTS, ids=[rule["fault"] for rule in FAULTS])
def test_backfill_survives(rule: dict[str, Any], simulator: Simulated, poll_settings: Settings) -> None:
    _set_faults(simulator, [{**rule, "path": REPORTS}])
    settings = poll_settings.model_copy(update={"http_timeout_seconds": TIMEOUT_SECONDS})
    since = simulator.first_day + timedelta(days=WORLD_DAYS - BACKFILL_DAYS)
    result = poll_once(SOURCE, settings, since=since)
    assert _fired(simulator) > 0
    assert_backfilled(settings.bootstrap_servers, backfill_rows(simulator.world, since), {result.poll_run_id})


def test_a_persistently_malformed_page_stops_the_pass_before_it(simulator: Simulated,
                                                               poll_settings: Settings) -> None:
    # The first five message-report pages pass (a zero-delay `slow` rule that stops firing after
    # five), every later one is cut in half: page 3 of the hourly report never parses.
    _set_faults(simulator, [{"fault": "slow", "path": MESSAGES, "delay": 0, "times": 5},
                            {"fault": "truncated", "path": MESSAGES}])
    with pytest.raises(MalformedPage) as failure:
        poll_once(SOURCE, poll_settings, since=simulator.first_day)
    message = str(failure.value)
    assert message.startswith(f"anthropic GET {MESSAGES} ")
    assert '"bucket_width": "1h"' in message and '"page": "page_' in message
    assert "malformed response" in message and "body starts '{\"data\":[" in message

    checkpoints = json.loads((poll_settings.home / "checkpoints" / "anthropic.json").read_text())
    assert "cost_report" not in checkpoints and "claude_code" not in checkpoints
    reached = datetime.fromisoformat(checkpoints["usage_report_1h"]["last_value"])
    assert reached == simulator.first_day + 2 * anthropic.BUCKET_LIMITS["1h"] * HOUR  # the end of page 2
    hourly = [record.value for record in read_topic(poll_settings.bootstrap_servers, "raw.anthropic.usage",
                                                    run_ids={checkpoints["usage_report_1h"]["poll_run_id"]})
              if record.value["ending_at"] - record.value["starting_at"] == HOUR]
    assert hourly and all(value["ending_at"] <= reached for value in hourly)


def _set_faults(simulator: Simulated, rules: list[dict[str, Any]]) -> None:
    httpx.post(f"{simulator.url}/_sim/faults", json={"rules": rules}).raise_for_status()


def _fired(simulator: Simulated) -> int:
    rules = httpx.get(f"{simulator.url}/_sim/faults").json()["rules"]
    return sum(rule["fired"] for rule in rules)
