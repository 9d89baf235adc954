"""A model: one SQL file under `batch/models/`, its metadata in a leading `/* model` TOML block.

```sql
/* model
kind = "incremental_by_partition"
description = "Product usage at grain (customer, product, plan, report_date), priced."
grain = ["customer_key", "product_key", "plan_key", "report_date"]
partition_by = "report_date"
time_column = "report_date"

[tests]
not_null = ["customer_key"]
relationships = { customer_key = "dim_customer.customer_key" }
*/
SELECT ... FROM int__fact_usage_priced WHERE {{ partition_filter }}
```

The model's name is its file name. What it depends on is not declared: it is read from the
SQL (every other model or landing table it names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from batch.sql_file import SqlFileError, read_sql_file

HEADER_TAG = "model"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ModelError(ValueError):
    """A model file is invalid; the message names the file."""


class Kind(StrEnum):
    """How a model is materialized."""

    VIEW = "view"
    """A view: nothing stored, always current."""
    TABLE = "table"
    """Rebuilt whole into a staging table and swapped in (EXCHANGE TABLES)."""
    APPEND = "append"
    """Each batch appends the rows that landed since the last one; the engine's sorting key collapses
    redelivered rows on merge and readers pick the latest version in SQL."""
    INCREMENTAL_BY_PARTITION = "incremental_by_partition"
    """The partitions whose inputs changed are rebuilt in a staging table and swapped in (REPLACE PARTITION)."""


class Relationship(BaseModel):
    """`column` of this model must name a row of `model.to_column` (nulls are not checked)."""

    model_config = ConfigDict(frozen=True)

    column: str
    model: str
    to_column: str


class ModelTests(BaseModel):
    """Generic data tests declared on a model (grain uniqueness comes from `grain`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    not_null: tuple[str, ...] = ()
    """Columns that must never be null."""
    relationships: tuple[Relationship, ...] = ()
    """Foreign keys; declared as a table `column = "model.column"`."""

    @field_validator("relationships", mode="before")
    @classmethod
    def _from_table(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        parsed = []
        for column, target in value.items():
            model, dot, to_column = str(target).partition(".")
            if not dot or not model or not to_column:
                raise ValueError(f"{column} = {target!r}: expected \"model.column\"")
            parsed.append(Relationship(column=column, model=model, to_column=to_column))
        return parsed


class ModelMeta(BaseModel):
    """The metadata block of a model file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    description: str = Field(min_length=1)
    grain: tuple[str, ...] = ()
    """Columns that identify a row; tested unique."""
    order_by: tuple[str, ...] | None = None
    """Sorting key of the stored table; default: the grain."""
    partition_by: str | None = None
    """Partition expression of the stored table."""
    time_column: str | None = None
    """The date column by which a change of this model touches downstream partitions."""
    engine: str = "MergeTree"
    """Table engine without its Replicated prefix (cluster mode adds it)."""
    tests: ModelTests = ModelTests()

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind is Kind.VIEW and (self.order_by or self.partition_by or self.engine != "MergeTree"):
            raise ValueError("a view has no order_by, partition_by or engine")
        if self.kind is Kind.INCREMENTAL_BY_PARTITION and not (self.partition_by and self.time_column):
            raise ValueError("incremental_by_partition needs partition_by and time_column")
        return self

    @property
    def sorting_key(self) -> tuple[str, ...]:
        """The stored table's ORDER BY columns (empty: `tuple()`)."""
        return self.order_by if self.order_by is not None else self.grain


@dataclass(frozen=True)
class Model:
    """A model: its name (the file name), SQL and metadata."""

    name: str
    path: Path
    sql: str
    meta: ModelMeta

    @property
    def kind(self) -> Kind:
        return self.meta.kind


def read_model(path: Path) -> Model:
    """The model in `path`, validated."""
    if not _IDENTIFIER.fullmatch(path.stem):
        raise ModelError(f"{path}: a model's file name is its table name and must be an identifier")
    try:
        fields, sql = read_sql_file(path, HEADER_TAG)
        meta = ModelMeta.model_validate(fields)
    except SqlFileError as error:
        raise ModelError(str(error)) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "model"
        raise ModelError(f"{path}: {where}: {first['msg'].removeprefix('Value error, ')}") from None
    return Model(name=path.stem, path=path, sql=sql, meta=meta)
