"""Budgets: monthly spend limits per person, team or platform, kept as reference data on `ref.budgets`.

Budgets are owned by people, not vendors, so they come from a CSV file (a sheet export) that
`usagemart budgets load FILE.csv` validates and publishes, one compacted record per `budget_id`.
The worker lands them in `raw_budgets` like every reference topic; the `budgets` view holds the
current ones. Loading the same file again re-publishes the same budgets (the latest record wins);
a budget is retired by loading it with `active` false, since compaction tombstones are not landed.

Columns (a header row; empty optional cells take the default):

| column | holds |
|---|---|
| `budget_id` | stable id; alert ids derive from it |
| `scope` | `person`, `team` or `platform` |
| `scope_value` | the person's email, the team's name, or the platform |
| `members` | a team's members' emails, separated by `;` (teams only) |
| `monthly_amount` | per calendar month (UTC), in the currency's major unit |
| `currency` | optional, default `DEFAULT_BILLING_CURRENCY` |
| `thresholds_pct` | optional percentages separated by `;`, default `50;80;100` |
| `owner_email` | optional: who is told |
| `active` | optional `true`/`false`, default `true` |
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from schemas.serde import Serde
from streams.pollers.publisher import Publisher
from streams.topics import ensure_topics
from usagemart.settings import Settings

TOPIC = "ref.budgets"
DEMO_BUDGETS = Path(__file__).with_name("demo_budgets.csv")
"""Budgets for the demo's simulated organisation (seed 7): its people, a team, each platform."""
SCOPES = ("person", "team", "platform")
PLATFORMS = ("anthropic_api", "claude_code", "cursor")
DEFAULT_THRESHOLDS = (50, 80, 100)
COLUMNS = ("budget_id", "scope", "scope_value", "members", "monthly_amount", "currency", "thresholds_pct",
           "owner_email", "active")
_REQUIRED = ("budget_id", "scope", "scope_value", "monthly_amount")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CENT = Decimal("0.01")

Budget = dict[str, Any]
"""A `ref.budgets` record."""


class BudgetFileError(ValueError):
    """A budgets file cannot be read; the message names the file, the line and the cell."""


def read_budgets(path: Path, default_currency: str = "USD") -> list[Budget]:
    """The budgets of a CSV file as `ref.budgets` records, every row validated; ids must be unique."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            missing = [column for column in _REQUIRED if column not in (reader.fieldnames or [])]
            if missing:
                raise BudgetFileError(f"{path}: missing columns {', '.join(missing)}; expected {', '.join(COLUMNS)}")
            budgets = [_budget(row, default_currency, f"{path} line {reader.line_num}") for row in reader]
    except OSError as error:
        raise BudgetFileError(f"{path}: {error.strerror}") from None
    ids = [budget["budget_id"] for budget in budgets]
    repeated = sorted({budget_id for budget_id in ids if ids.count(budget_id) > 1})
    if repeated:
        raise BudgetFileError(f"{path}: budget_id repeated: {', '.join(repeated)}")
    return budgets


def publish_budgets(settings: Settings, budgets: list[Budget]) -> int:
    """Publish budgets to `ref.budgets` (created if missing); return the count once all are acknowledged."""
    ensure_topics(settings.bootstrap_servers, [TOPIC])
    publisher = Publisher(settings.bootstrap_servers, Serde.from_settings(settings), "budgets", uuid.uuid4().hex)
    try:
        return publisher.publish(TOPIC, budgets)
    finally:
        publisher.close()


def _budget(row: Mapping[str, str | None], default_currency: str, where: str) -> Budget:
    cells = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in _REQUIRED:
        if not cells[column]:
            raise BudgetFileError(f"{where}: {column} is empty")
    scope = cells["scope"]
    if scope not in SCOPES:
        raise BudgetFileError(f"{where}: scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    members = [_email(member, "members", where) for member in _split(cells["members"])]
    if (scope == "team") != bool(members):
        raise BudgetFileError(f"{where}: members are required for a team and only for a team")
    return {
        "budget_id": cells["budget_id"],
        "scope": scope,
        "scope_value": _scope_value(scope, cells["scope_value"], where),
        "members": members,
        "monthly_amount": _amount(cells["monthly_amount"], where),
        "currency": _currency(cells["currency"] or default_currency, where),
        "thresholds_pct": _thresholds(cells["thresholds_pct"], where),
        "owner_email": _email(cells["owner_email"], "owner_email", where) if cells["owner_email"] else None,
        "active": _flag(cells["active"], where),
        "updated_at": datetime.now(UTC),
    }


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _scope_value(scope: str, value: str, where: str) -> str:
    if scope == "person":
        return _email(value, "scope_value", where)
    if scope == "platform" and value not in PLATFORMS:
        raise BudgetFileError(f"{where}: a platform budget's scope_value is one of {', '.join(PLATFORMS)}, "
                              f"got {value!r}")
    return value


def _email(value: str, column: str, where: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise BudgetFileError(f"{where}: {column} must be an email address, got {value!r}")
    # Attribution stores emails as the vendors send them; budgets and their matching compare lower case.
    return value.lower()


def _amount(value: str, where: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise BudgetFileError(f"{where}: monthly_amount must be a number, got {value!r}") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(_CENT):
        raise BudgetFileError(f"{where}: monthly_amount must be positive with at most 2 decimals, got {value!r}")
    return amount.quantize(_CENT)


def _currency(value: str, where: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise BudgetFileError(f"{where}: currency must be a 3-letter ISO 4217 code, got {value!r}")
    return value.upper()


def _thresholds(cell: str, where: str) -> list[int]:
    parts = _split(cell)
    if not parts:
        return list(DEFAULT_THRESHOLDS)
    if not all(part.isdigit() and 0 < int(part) <= 1000 for part in parts):
        raise BudgetFileError(f"{where}: thresholds_pct must be percentages from 1 to 1000 separated by ';', "
                              f"got {cell!r}")
    return sorted({int(part) for part in parts})


def _flag(cell: str, where: str) -> bool:
    if cell.lower() not in {"", "true", "false"}:
        raise BudgetFileError(f"{where}: active must be true or false, got {cell!r}")
    return cell.lower() != "false"
