"""The vendor API simulator: every endpoint of SOURCES.md served on loopback from a seeded world.

`World` generates the data; one module per vendor (`anthropic`, `cursor`, `stripe`, `product`)
exposes its ground-truth rows and the routes that filter and paginate them; `faults` injects
errors on demand; `server` builds and runs the app.
"""

from __future__ import annotations

from streams.simulator.faults import FaultPlan, FaultRule
from streams.simulator.server import build_app, run_simulator, serve_in_thread, simulator_service
from streams.simulator.world import World

__all__ = ["FaultPlan", "FaultRule", "World", "build_app", "run_simulator", "serve_in_thread", "simulator_service"]
