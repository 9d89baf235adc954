"""Time to generate the simulator's default 90-day world, every source (a benchmark, not a test)."""

from __future__ import annotations

import time

from streams.simulator.server import generate_all
from streams.simulator.world import World


def main() -> None:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        counts = generate_all(World())
        timings.append(time.perf_counter() - started)
    print(f"default world, 90 days: {sum(counts.values()):,} rows in {min(timings):.2f}s (best of 3)")


if __name__ == "__main__":
    main()
