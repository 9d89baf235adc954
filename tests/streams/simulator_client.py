"""A seeded simulator served over loopback for a test module, with an HTTP client reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest

from streams.simulator import World, build_app, serve_in_thread

START = date(2026, 1, 1)
NOW = datetime(2026, 2, 9, 15, 30, tzinfo=UTC)


def make_world(seed: int = 11) -> World:
    """The 40-day world the simulator tests read."""
    return World(seed=seed, start=START, days=40, now=NOW)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()


@pytest.fixture(scope="module")
def base_url(world: World) -> Iterator[str]:
    with serve_in_thread(build_app(world)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http
        http.post("/_sim/reset")
