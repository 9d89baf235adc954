"""UTC instants as vendor APIs page over them: day starts, bucket floors, RFC 3339 text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def day_start(day: date) -> datetime:
    """Midnight UTC starting `day`."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def floor_to(instant: datetime, span: timedelta) -> datetime:
    """The start of the `span`-wide bucket, aligned on UTC midnight, that holds the UTC `instant`."""
    day = day_start(instant.date())
    return day + ((instant - day) // span) * span


def rfc3339(instant: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` of a UTC instant, as vendors take it in query strings."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
