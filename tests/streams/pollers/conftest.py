"""Pollers are tested against the simulator over HTTP and a real broker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from streams.topics import ensure_topics
from usagemart.settings import Settings, load_settings

WORLD_DAYS = 90


@dataclass
class Simulated:
    """A running simulator: its world (the ground truth) and base URL."""

    world: World
    url: str
    app: Any

    @property
    def first_day(self) -> datetime:
        """Midnight UTC starting the world's first day: where a full backfill starts."""
        return datetime.combine(self.world.start, time(), UTC)


@pytest.fixture
def simulator() -> Iterator[Simulated]:
    """A fresh simulator per test (faults and revisions are per test)."""
    world = World.ending_now(7, WORLD_DAYS)
    app = build_app(world)
    with serve_in_thread(app) as url:
        yield Simulated(world, url, app)


@pytest.fixture(scope="session")
def raw_topics(kafka_bootstrap: str) -> str:
    """The session broker with every catalog topic created (pollers do not create topics)."""
    ensure_topics(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture
def poll_settings(tmp_path: Path, raw_topics: str, simulator: Simulated) -> Settings:
    """Settings pointing every source at the simulator, unthrottled, with state in tmp_path."""
    return settings_for(tmp_path, raw_topics, simulator.url)


def settings_for(home: Path, bootstrap: str, url: str, **overrides: Any) -> Settings:
    """Settings for polling the simulator at `url` into `bootstrap`."""
    return load_settings(
        usagemart_home=home, kafka_bootstrap_servers=bootstrap,
        anthropic_base_url=url, cursor_base_url=url, stripe_base_url=url, product_base_url=url,
        funnel_base_url=url, helpdesk_base_url=url,
        anthropic_admin_api_key="sk-ant-admin-test", cursor_api_key="key_test", stripe_api_key="sk_test_x",
        anthropic_requests_per_minute=1e6, cursor_requests_per_minute=1e6, stripe_requests_per_minute=1e6,
        product_requests_per_minute=1e6, funnel_requests_per_minute=1e6, helpdesk_requests_per_minute=1e6,
        **overrides,
    )
