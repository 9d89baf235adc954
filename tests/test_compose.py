"""docker-compose.yml cannot run here; check that it agrees with the settings and the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from streams.pollers import SOURCE_NAMES
from usagemart.cli import app
from usagemart.settings import EMBEDDED_CLICKHOUSE_PORT, LOCAL_KAFKA_PORT, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = {"migrate", "poller-anthropic", "poller-cursor", "poller-stripe", "poller-product", "poller-funnel",
                "poller-helpdesk", "worker", "batch"}
# The command table of ARCHITECTURE.md.
DOCUMENTED_COMMANDS = {"demo", "up", "down", "migrate", "poll", "worker", "batch", "replay", "simulate", "report",
                       "watch", "check"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _expand(value: str) -> str:
    """Expand `${VAR:-default}` the way compose does when VAR is unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_stack_has_kafka_clickhouse_grafana_and_the_app(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "clickhouse", "grafana"} | APP_SERVICES <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:3.9")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server")
    assert "grafana-clickhouse-datasource" in services["grafana"]["environment"]["GF_INSTALL_PLUGINS"]


def test_ports_match_the_embedded_defaults(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert f"{LOCAL_KAFKA_PORT}:{LOCAL_KAFKA_PORT}" in services["kafka"]["ports"]
    assert f"{EMBEDDED_CLICKHOUSE_PORT}:{EMBEDDED_CLICKHOUSE_PORT}" in services["clickhouse"]["ports"]


def test_app_environment_is_valid_settings(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose["services"]
    known = {name.upper() for name in Settings.model_fields}
    for name in APP_SERVICES:
        environment = {key: _expand(str(value)) for key, value in services[name]["environment"].items()}
        assert set(environment) <= known, f"{name} sets variables the app does not read"
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        settings = load_settings()
        kafka_listener = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]
        assert settings.bootstrap_servers == kafka_listener
        assert settings.clickhouse.host == "clickhouse"
        assert settings.clickhouse.database == services["clickhouse"]["environment"]["CLICKHOUSE_DB"]
        assert settings.clickhouse.username == services["clickhouse"]["environment"]["CLICKHOUSE_USER"]


def test_app_services_run_documented_commands(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"] == "."
        assert service["command"][0] in DOCUMENTED_COMMANDS
        assert {"kafka", "clickhouse"} <= set(service["depends_on"])


def test_every_source_has_a_poller_service_and_every_command_exists(compose: dict[str, Any]) -> None:
    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert DOCUMENTED_COMMANDS <= commands
    pollers = {service["command"][1] for service in compose["services"].values()
               if service.get("command", [None])[0] == "poll"}
    assert pollers == set(SOURCE_NAMES)


def test_grafana_provisions_the_clickhouse_datasource() -> None:
    datasource = yaml.safe_load((ROOT / "grafana/provisioning/datasources/clickhouse.yml").read_text())
    (source,) = datasource["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["defaultDatabase"] == "usage_mart"
    assert source["jsonData"]["username"] == "grafana"
