"""Pollers are tested against the simulator over HTTP and a real broker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streams.simulator.server import build_app, serve_in_thread
from streams.simulator.world import World
from usagemart.settings import Settings, load_settings

WORLD_DAYS = 90


@dataclass
class Simulated:
    """A running simulator: its world (the ground truth) and base URL."""

    world: World
    url: str
    app: Any


@pytest.fixture
def simulator() -> Iterator[Simulated]:
    """A fresh simulator per test (faults and revisions are per test)."""
    world = World.ending_now(7, WORLD_DAYS)
    app = build_app(world)
    with serve_in_thread(app) as url:
        yield Simulated(world, url, app)


@pytest.fixture
def poll_settings(tmp_path: Path, kafka_bootstrap: str, simulator: Simulated) -> Settings:
    """Settings pointing every source at the simulator, unthrottled, with state in tmp_path."""
    return settings_for(tmp_path, kafka_bootstrap, simulator.url)


def settings_for(home: Path, bootstrap: str, url: str, **overrides: Any) -> Settings:
    """Settings for polling the simulator at `url` into `bootstrap`."""
    return load_settings(
        usagemart_home=home, kafka_bootstrap_servers=bootstrap,
        anthropic_base_url=url, cursor_base_url=url, stripe_base_url=url, product_base_url=url,
        anthropic_admin_api_key="sk-ant-admin-test", cursor_api_key="key_test", stripe_api_key="sk_test_x",
        anthropic_requests_per_minute=1e6, cursor_requests_per_minute=1e6, stripe_requests_per_minute=1e6,
        product_requests_per_minute=1e6, **overrides,
    )
