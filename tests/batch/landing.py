"""Hand-built landing rows: records written to the `raw_*` tables the way the ClickHouse sink writes them."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from schemas.conform import conform
from schemas.contracts import natural_key
from streams.landing import LANDING_COLUMNS, landing_table, record_json


@dataclass
class Landing:
    """Writes contract records into the landing tables, one Kafka record (offset) each."""

    client: Client
    fetched_at: datetime = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    """The poll that fetched the next records (tests move it between batches)."""
    offsets: Counter[str] = field(default_factory=Counter)

    def usage(self, customer: str, product: str, plan: str, day: str, units: float, included: float = 0.0, *,
              status: str = "OPEN", updated_at: str = "2026-03-03T05:00:00.000Z",
              country: str | None = "US") -> int:
        """A raw.product.usage record; returns its offset."""
        return self.write("raw.product.usage", {
            "customer_code": customer, "product_code": product, "plan_code": plan, "country_code": country,
            "report_date": day, "units_used": float(units), "included_units": float(included), "status": status,
            "updated_at": updated_at, "raw_json": "{}",
        }, key=f"{customer}|{product}|{plan}|{country}|{day}")

    def catalog(self, name: str, code: str, display_name: str | None = None, **attributes: str) -> int:
        """A ref.catalog.<name> record; returns its offset."""
        return self.write(f"ref.catalog.{name}", {
            "code": code, "name": display_name, "attributes": attributes,
            "updated_at": "2026-01-01T00:00:00.000Z", "raw_json": "{}",
        }, key=code)

    def price(self, product: str, plan: str, effective: str, unit_price: str, currency: str | None = "USD") -> int:
        """A ref.pricebook record (plan "" prices every plan); returns its offset."""
        return self.write("ref.pricebook", {
            "product_code": product, "plan_code": plan, "effective_date": effective, "unit_price": unit_price,
            "currency_code": currency, "raw_json": "{}",
        }, key=f"{product}|{plan}|{effective}")

    def polled(self, topic: str, row: dict[str, Any], **extra: Any) -> int:
        """A vendor row as its poller publishes it (conformed to the topic's contract, keyed by its natural key);
        returns its offset."""
        record = conform(topic, row, **extra)
        return self.write(topic, record, key=natural_key(topic, record))

    def write(self, topic: str, record: dict[str, Any], *, key: str, offset: int | None = None,
              fetched_at: datetime | None = None) -> int:
        """Land `record` at the next offset of `topic` (or at `offset`, as a redelivery does)."""
        if offset is None:
            offset = self.offsets[topic]
            self.offsets[topic] += 1
        row = [key, record_json(record), f"{topic}/v1", "test", "poll-1", fetched_at or self.fetched_at, topic, 0,
               offset]
        self.client.insert(landing_table(topic), [row], column_names=list(LANDING_COLUMNS))
        return offset

    def redeliver(self, topic: str, offset: int) -> None:
        """Land again the record already landed at `offset` of `topic`, headers and all."""
        rows = self.client.query(f"SELECT natural_key, record, fetched_at FROM {landing_table(topic)} "
                                 "WHERE kafka_offset = {offset:UInt64} LIMIT 1", parameters={"offset": offset})
        key, record, fetched_at = rows.result_rows[0]
        self.write(topic, json.loads(record), key=key, offset=offset, fetched_at=fetched_at)


def rfc3339(moment: str) -> str:
    """`YYYY-MM-DD HH:MM` (UTC) as the RFC 3339 text vendors send: `YYYY-MM-DDTHH:MM:00Z`."""
    return f"{moment.replace(' ', 'T')}:00Z"


def utc(moment: str) -> datetime:
    """`YYYY-MM-DD HH:MM` (UTC) as ClickHouse returns a UTC DateTime64: a naive datetime."""
    return datetime.fromisoformat(moment)
