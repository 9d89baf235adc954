"""What an Anthropic backfill must publish, from the simulator's world alone, and the check that it did.

Keys are written here from ARCHITECTURE.md's grains and the contracts' key format, not with
`schemas.contracts.natural_key`, so that a wrong key on either side shows up as a difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from streams.simulator import anthropic as vendor
from streams.simulator.world import World
from tests.streams.topic_reader import TopicRecord, read_topic

USAGE_GRAIN = ("api_key_id", "workspace_id", "model", "service_tier", "context_window")
COST_GRAIN = ("workspace_id", "description")
MEASURED = {"raw.anthropic.usage": "output_tokens", "raw.anthropic.cost": "amount",
            "raw.anthropic.claude_code": "core_metrics_lines_of_code_added"}
"""Topic -> a measure the simulator restates, by its name in the contract record."""

Rows = dict[str, dict[str, Any]]
"""Natural key -> the vendor row (a report result, a Claude Code record, an entity)."""


def key(*parts: str | None) -> str:
    """A record key: parts joined by `|` (`%` and `|` escaped), nulls empty, trailing empties dropped."""
    texts = ["" if part is None else part.replace("%", "%25").replace("|", "%7C") for part in parts]
    while texts and not texts[-1]:
        texts.pop()
    return "|".join(texts)


def backfill_rows(world: World, since: datetime) -> dict[str, Rows]:
    """Topic -> the rows a backfill from `since` to the world's present publishes, by natural key.

    Report results carry their bucket's `starting_at`, as the contract records do.
    """
    start = int(since.timestamp())
    return {
        "raw.anthropic.usage": {
            **_bucket_rows(vendor.usage_report(world, "1d", start, None, USAGE_GRAIN), USAGE_GRAIN),
            **_bucket_rows(vendor.usage_report(world, "1h", start, None, USAGE_GRAIN), USAGE_GRAIN),
        },
        "raw.anthropic.cost": _bucket_rows(vendor.cost_report(world, start, None, COST_GRAIN), COST_GRAIN),
        "raw.anthropic.claude_code": {
            _claude_code_key(row): row for day in _days(since.date(), world.last_day)
            for row in vendor.claude_code(world, day)
        },
        "raw.anthropic.api_keys": {row["id"]: row for row in vendor.api_keys(world)},
        "raw.anthropic.users": {row["id"]: row for row in vendor.users(world)},
    }


def assert_backfilled(bootstrap: str, expected: dict[str, Rows],
                      run_ids: Collection[str]) -> dict[str, list[TopicRecord]]:
    """Assert the runs published exactly the expected keys, with their values and headers; return the records.

    A key may come more than once (a retried or repeated page) but only as the same value.
    """
    published = {topic: read_topic(bootstrap, topic, run_ids=run_ids) for topic in expected}
    for topic, records in published.items():
        by_key: dict[str, list[TopicRecord]] = defaultdict(list)
        for record in records:
            by_key[record.key].append(record)
            assert record.headers["source"] == b"anthropic"
            datetime.fromisoformat(record.headers["fetched_at"].decode())
        assert set(by_key) == set(expected[topic]), f"{topic}: keys differ from the ground truth"
        for record_key, copies in by_key.items():
            assert all(copy.value == copies[0].value for copy in copies), f"{topic} {record_key}: differing copies"
            if topic in MEASURED:
                assert copies[0].value[MEASURED[topic]] == measure(topic, expected[topic][record_key])
    return published


def measure(topic: str, row: dict[str, Any]) -> Any:
    """The `MEASURED` value of a vendor row."""
    if topic == "raw.anthropic.claude_code":
        return row["core_metrics"]["lines_of_code"]["added"]
    return row[MEASURED[topic]]


def restated(world: World, topic: str, row: dict[str, Any]) -> bool:
    """True when the vendor row belongs to a day the simulator restates at each revision."""
    day = row["date"] if topic == "raw.anthropic.claude_code" else row["starting_at"][:10]
    return world.restated(date.fromisoformat(day))


def _bucket_rows(buckets: list[dict[str, Any]], grain: tuple[str, ...]) -> Rows:
    return {
        key(_millis(bucket["starting_at"]), _millis(bucket["ending_at"]), *(row[dim] for dim in grain)):
            {**row, "starting_at": bucket["starting_at"]}
        for bucket in buckets for row in bucket["results"]
    }


def _claude_code_key(row: dict[str, Any]) -> str:
    actor = row["actor"]
    return key(row["date"], actor["type"], actor.get("email_address"), actor.get("api_key_name"),
               row["terminal_type"], "true" if row["is_remote"] else "false")


def _millis(rfc3339: str) -> str:
    return rfc3339.removesuffix("Z") + ".000Z"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
