"""The contracts themselves: one per topic of the architecture, well-formed, keyed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import pytest

from schemas.contracts import UnknownContractError, contract, contract_names, natural_key

ARCHITECTURE_TOPICS = [
    "raw.anthropic.usage", "raw.anthropic.cost", "raw.anthropic.claude_code", "raw.anthropic.api_keys",
    "raw.anthropic.users", "raw.cursor.daily_usage", "raw.cursor.usage_events", "raw.cursor.spend",
    "raw.cursor.members", "raw.stripe.charges", "raw.product.usage", "ref.catalog.customers",
    "ref.catalog.products", "ref.catalog.plans", "ref.catalog.countries", "ref.catalog.currencies",
    "ref.pricebook", "ref.api_key_mappings", "usage.events", "cost.events",
    "raw.funnel.sessions", "raw.funnel.subscriptions", "raw.funnel.funnels", "raw.funnel.product_events",
    "raw.helpdesk.tickets", "raw.helpdesk.customers", "raw.helpdesk.products", "raw.helpdesk.logins",
    "ref.budgets", "alerts",
]

# Topics fed from an API response; ref.api_key_mappings is written by this project.
VENDOR_ROWS = ("raw.", "ref.catalog.", "ref.pricebook")

USAGE_EVENT_FIELDS = [
    ("event_id", "string"), ("version", "long"), ("source", "string"), ("platform", "string"),
    ("event_time", "timestamp-millis"), ("usage_date", "date"), ("user_email", ["null", "string"]),
    ("attribution_method", "string"), ("attribution_confidence", "float"),
    ("api_key_id", ["null", "string"]), ("workspace_id", ["null", "string"]), ("model", ["null", "string"]),
    ("service_tier", ["null", "string"]), ("context_window", ["null", "string"]),
    ("input_tokens", "long"), ("output_tokens", "long"), ("cache_creation_5m_tokens", "long"),
    ("cache_creation_1h_tokens", "long"), ("cache_read_tokens", "long"), ("requests", "long"),
    ("web_search_requests", "long"), ("sessions", "long"), ("lines_added", "long"), ("lines_removed", "long"),
    ("attributes", "map<string>"), ("raw_topic", "string"), ("raw_partition", "int"), ("raw_offset", "long"),
]

COST_EVENT_FIELDS = [
    ("event_id", "string"), ("version", "long"), ("source", "string"), ("platform", "string"),
    ("cost_kind", "string"), ("event_time", "timestamp-millis"), ("usage_date", "date"),
    ("amount", "decimal(38,12)"), ("currency", "string"), ("user_email", ["null", "string"]),
    ("attribution_method", "string"), ("attribution_confidence", "float"),
    ("api_key_id", ["null", "string"]), ("workspace_id", ["null", "string"]), ("model", ["null", "string"]),
    ("token_type", ["null", "string"]), ("cost_type", ["null", "string"]), ("description", ["null", "string"]),
    ("service_tier", ["null", "string"]), ("context_window", ["null", "string"]),
    ("attributes", "map<string>"), ("raw_topic", "string"), ("raw_partition", "int"), ("raw_offset", "long"),
]


def _type_name(avro_type: Any) -> Any:
    if not isinstance(avro_type, dict):
        return avro_type
    if avro_type.get("logicalType") == "decimal":
        return f"decimal({avro_type['precision']},{avro_type['scale']})"
    if avro_type["type"] == "map":
        return f"map<{avro_type['values']}>"
    return avro_type.get("logicalType", avro_type["type"])


def _fields(name: str) -> list[tuple[str, Any]]:
    return [(field["name"], _type_name(field["type"])) for field in contract(name).definition["fields"]]


def test_every_topic_of_the_architecture_and_the_dlq_has_a_contract() -> None:
    assert sorted(contract_names()) == sorted([*ARCHITECTURE_TOPICS, "dlq"])
    assert contract("dlq.normalize").name == contract("dlq.sink").name == "dlq"


def test_unknown_topic_is_a_clear_error() -> None:
    with pytest.raises(UnknownContractError, match="raw.nope"):
        contract("raw.nope")


def test_versions_are_contiguous_and_keep_the_record_name(contract_name: str) -> None:
    topic_contract = contract(contract_name)
    assert sorted(topic_contract.versions) == list(range(1, topic_contract.current + 1))
    # Schema resolution matches records by full name: renaming one breaks every older reader.
    assert len({schema["name"] for schema in topic_contract.versions.values()}) == 1


@pytest.mark.parametrize("name", [name for name in ARCHITECTURE_TOPICS if name.startswith(VENDOR_ROWS)])
def test_vendor_rows_are_kept_whole(name: str) -> None:
    assert ("raw_json", "string") in _fields(name)


def test_natural_key_fields_are_present_in_the_sample(contract_name: str, record: dict[str, Any]) -> None:
    topic_contract = contract(contract_name)
    assert set(topic_contract.natural_key) <= set(record)
    assert natural_key(contract_name, record)


def test_normalized_events_have_exactly_the_agreed_fields() -> None:
    assert _fields("usage.events") == USAGE_EVENT_FIELDS
    assert _fields("cost.events") == COST_EVENT_FIELDS


def test_usage_key_is_readable_and_in_key_order(sample_of: Callable[[str], dict[str, Any]]) -> None:
    assert natural_key("raw.anthropic.usage", sample_of("raw.anthropic.usage")) == (
        "2026-03-02T14:00:00.000Z|2026-03-02T15:00:00.000Z|apikey_01Rj2N8SVvo6BePZj99NhmiT"
        "|wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ|claude-sonnet-4-5-20250929|standard|0-200k|us"
    )


def test_key_is_unchanged_by_newer_nullable_key_fields(sample_of: Callable[[str], dict[str, Any]]) -> None:
    record = sample_of("raw.anthropic.usage") | {"inference_geo": None}
    v1_record = {name: value for name, value in record.items()
                 if name not in ("inference_geo", "account_id", "service_account_id")}
    assert natural_key("raw.anthropic.usage", record) == natural_key("raw.anthropic.usage", v1_record)
    assert natural_key("raw.anthropic.usage", record).endswith("|0-200k")


def test_key_reads_avro_numbers_and_naive_datetimes_as_utc() -> None:
    as_datetime = {"date": datetime(2026, 3, 2, tzinfo=timezone.utc), "email": "a@example.com"}
    as_millis = {"date": 1_772_409_600_000, "email": "a@example.com"}
    naive = {"date": datetime(2026, 3, 2), "email": "a@example.com"}
    keys = {natural_key("raw.cursor.daily_usage", record) for record in (as_datetime, as_millis, naive)}
    assert keys == {"a@example.com|2026-03-02T00:00:00.000Z"}
    assert natural_key("ref.pricebook", {"product_code": "P", "plan_code": "Q", "effective_date": 20514}) == (
        natural_key("ref.pricebook", {"product_code": "P", "plan_code": "Q", "effective_date": date(2026, 3, 2)})
    )


def test_key_escapes_the_separator() -> None:
    one = {"customer_code": "A|B", "product_code": "C", "plan_code": "D", "report_date": date(2026, 3, 2)}
    other = {"customer_code": "A", "product_code": "B|C", "plan_code": "D", "report_date": date(2026, 3, 2)}
    assert natural_key("raw.product.usage", one) != natural_key("raw.product.usage", other)
    assert natural_key("raw.product.usage", one).startswith("A%7CB|C|D||2026-03-02")


def test_claude_code_rows_of_one_actor_and_day_have_distinct_keys(
    sample_of: Callable[[str], dict[str, Any]],
) -> None:
    local = sample_of("raw.anthropic.claude_code")
    remote = local | {"is_remote": True}
    other_terminal = local | {"terminal_type": "iTerm.app"}
    keys = {natural_key("raw.anthropic.claude_code", row) for row in (local, remote, other_terminal)}
    assert len(keys) == 3
    assert natural_key("raw.anthropic.claude_code", local) == "2026-03-02|user_actor|dana.lee@example.com||vscode|false"


def test_dlq_records_are_keyed_by_their_source_position(sample_of: Callable[[str], dict[str, Any]]) -> None:
    assert natural_key("dlq.normalize", sample_of("dlq")) == "raw.anthropic.usage|3|1048212"
