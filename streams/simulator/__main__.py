"""`python -m streams.simulator`: serve the vendor API simulator on loopback."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from streams.simulator.server import run_simulator
from usagemart.settings import SIMULATOR_PORT, load_settings


def _faults(text: str) -> list[dict[str, Any]]:
    raw = json.loads(Path(text[1:]).read_text() if text.startswith("@") else text)
    rules: list[dict[str, Any]] = raw.get("rules", []) if isinstance(raw, dict) else raw
    return rules


def _keys() -> dict[str, str]:
    settings = load_settings()
    secrets = {"anthropic": settings.anthropic_admin_api_key, "cursor": settings.cursor_api_key,
               "stripe": settings.stripe_api_key}
    return {vendor: secret.get_secret_value() for vendor, secret in secrets.items() if secret is not None}


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m streams.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=SIMULATOR_PORT)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--now", type=datetime.fromisoformat, help="the simulated present (ISO, with offset)")
    parser.add_argument("--faults", type=_faults, help='fault rules as JSON, or @file: {"rules": [...]}')
    parser.add_argument("--check-keys", action="store_true",
                        help="accept only ANTHROPIC_ADMIN_API_KEY, CURSOR_API_KEY and STRIPE_API_KEY")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Pollers ask every minute and benchmarks far more often; `GET /_sim/stats` counts requests instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    run_simulator(args.host, args.port, args.seed, days=args.days, now=args.now, faults=args.faults,
                  keys=_keys() if args.check_keys else None, accept_any_key=not args.check_keys)


if __name__ == "__main__":
    main()
