"""API pollers: one module per source, each declaring a `SOURCE` of the same shape."""

from __future__ import annotations

from importlib import import_module

from streams.pollers.source import Source

SOURCE_NAMES = ("anthropic", "cursor", "stripe", "product", "funnel", "helpdesk")


def source(name: str) -> Source:
    """The `Source` declared by `streams/pollers/<name>.py`."""
    if name not in SOURCE_NAMES:
        raise KeyError(f"unknown source {name!r}; one of {', '.join(SOURCE_NAMES)}")
    return import_module(f"streams.pollers.{name}").SOURCE  # type: ignore[no-any-return]
