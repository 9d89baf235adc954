"""normalize_batch: deterministic ids and versions, restatements, bad records, the topic set."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from hashlib import blake2b
from typing import Any

import pytest

from schemas.contracts import natural_key
from streams.normalize import EVENT_TOPICS, ModelPriceBook, NormalizeError, normalize_batch
from tests.streams.normalize.raw import FETCHED_AT_MS, normalize, normalize_with_errors, origin, raw

USAGE = "raw.anthropic.usage"
START = datetime(2026, 3, 2, tzinfo=UTC)


def day_bucket(**fields: Any) -> dict[str, Any]:
    return raw(USAGE, starting_at=START, ending_at=START + timedelta(days=1), **fields)


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [event["event_id"] for event in events]


def test_event_topics_are_the_raw_topics_that_carry_usage_or_cost() -> None:
    assert EVENT_TOPICS == {"raw.anthropic.usage", "raw.anthropic.cost", "raw.anthropic.claude_code",
                            "raw.cursor.daily_usage", "raw.cursor.usage_events"}


def test_event_id_is_the_hash_of_topic_and_natural_key() -> None:
    record = day_bucket()

    (event,) = normalize(USAGE, [record]).usage

    key = natural_key(USAGE, record)
    assert event["event_id"] == blake2b(f"{USAGE}\x1f{key}\x1f".encode(), digest_size=16).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{32}", event["event_id"])


def test_event_id_follows_the_kafka_key_the_record_came_with() -> None:
    record = day_bucket()
    prices = ModelPriceBook.shipped()

    keyed, _ = normalize_batch(USAGE, [record], [origin(USAGE)._replace(key=natural_key(USAGE, record))], prices)
    other, _ = normalize_batch(USAGE, [record], [origin(USAGE)._replace(key="another|key")], prices)

    assert ids(keyed.usage) == ids(normalize(USAGE, [record]).usage)
    assert other.usage[0]["event_id"] == blake2b(f"{USAGE}\x1fanother|key\x1f".encode(), digest_size=16).hexdigest()


def test_event_ids_are_deterministic_and_unique_across_sub_events() -> None:
    records = [raw("raw.anthropic.claude_code"), raw("raw.anthropic.claude_code", terminal_type="tmux")]

    first, second = normalize("raw.anthropic.claude_code", records), normalize("raw.anthropic.claude_code", records)

    assert ids(first.usage) == ids(second.usage) and ids(first.costs) == ids(second.costs)
    assert len(set(ids(first.usage))) == len(first.usage) == 6
    assert len(set(ids(first.costs))) == len(first.costs) == 4
    assert not set(ids(first.usage)) & set(ids(first.costs))


def test_estimates_of_one_row_have_distinct_ids() -> None:
    normalized = normalize(USAGE, [day_bucket(cache_creation_ephemeral_1h_input_tokens=5)])

    assert len(set(ids(normalized.costs))) == len(normalized.costs) == 6


def test_a_restated_record_keeps_its_ids_with_a_higher_version() -> None:
    first = normalize(USAGE, [day_bucket(output_tokens=100)])
    restated = normalize(USAGE, [day_bucket(output_tokens=180)], fetched_at_ms=FETCHED_AT_MS + 60_000)

    assert ids(restated.usage) == ids(first.usage) and ids(restated.costs) == ids(first.costs)
    assert restated.usage[0]["version"] == first.usage[0]["version"] + 60_000 == FETCHED_AT_MS + 60_000
    assert {cost["version"] for cost in restated.costs} == {FETCHED_AT_MS + 60_000}
    assert restated.usage[0]["output_tokens"] == 180


def test_a_replay_of_the_same_records_yields_the_same_events() -> None:
    records = [day_bucket(), day_bucket(model="claude-haiku-4-5-20251001")]

    assert normalize(USAGE, records) == normalize(USAGE, records)


@pytest.mark.parametrize(("topic", "fields", "reason"), [
    (USAGE, {"output_tokens": -5}, "output_tokens: negative count -5"),
    ("raw.anthropic.cost", {"amount": "12,50"}, "amount: not a decimal number: '12,50'"),
    ("raw.anthropic.cost", {"amount": "NaN"}, "amount: not a finite amount: NaN"),
    ("raw.anthropic.cost", {"currency": "dollars"}, "currency: not an ISO 4217 code: 'dollars'"),
    ("raw.cursor.usage_events", {"tokenUsage_inputTokens": -1}, "tokenUsage.inputTokens: negative count -1"),
    ("raw.cursor.daily_usage", {"acceptedLinesAdded": -3}, "acceptedLinesAdded: negative count -3"),
])
def test_a_bad_record_is_reported_and_the_batch_goes_on(topic: str, fields: dict[str, Any], reason: str) -> None:
    good = raw(topic, **({"starting_at": START, "ending_at": START + timedelta(days=1)} if topic == USAGE else {}))
    bad = {**good, **fields}
    other = raw(topic, **({"starting_at": START + timedelta(days=1), "ending_at": START + timedelta(days=2)}
                          if topic == USAGE else {}))

    normalized, errors = normalize_with_errors(topic, [good, bad, other])

    assert [(index, str(error)) for index, error in errors] == [(1, reason)]
    assert all(isinstance(error, NormalizeError) for _, error in errors)
    alone = normalize(topic, [good, other])
    assert ids(normalized.usage) == ids(alone.usage) and ids(normalized.costs) == ids(alone.costs)


def test_a_record_failing_half_way_leaves_no_events_behind() -> None:
    breakdown = raw("raw.anthropic.claude_code")["model_breakdown"]
    negative_second_model = [breakdown[0], {**breakdown[1], "tokens_output": -1}]
    record = {**raw("raw.anthropic.claude_code"), "model_breakdown": negative_second_model}

    normalized, errors = normalize_with_errors("raw.anthropic.claude_code", [record])

    assert [str(error) for _, error in errors] == ["tokens_output: negative count -1"]
    assert normalized.usage == [] and normalized.costs == []


def test_an_unforeseen_failure_is_one_bad_record_too() -> None:
    record = {**raw("raw.anthropic.cost"), "starting_at": None}

    _, errors = normalize_with_errors("raw.anthropic.cost", [record])

    (index, error), = errors
    assert index == 0 and str(error).startswith("AttributeError: ")


def test_topics_without_events_and_misaligned_origins_are_caller_errors() -> None:
    prices = ModelPriceBook.shipped()
    with pytest.raises(ValueError, match="raw.cursor.spend yields no events"):
        normalize_batch("raw.cursor.spend", [], [], prices)
    with pytest.raises(ValueError, match="1 records but 0 origins"):
        normalize_batch(USAGE, [day_bucket()], [], prices)
    assert normalize_batch(USAGE, [day_bucket()], [origin(USAGE)], prices)[1] == []
