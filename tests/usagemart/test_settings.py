"""Configuration: each bad variable fails with one line naming it; secrets never printed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from usagemart.settings import ConfigError, load_settings

BAD_VALUES = [
    ("KAFKA_BOOTSTRAP_SERVERS", "no-port-here", "host:port"),
    ("CLICKHOUSE_URL", "ftp://h/db", "http(s)://"),
    ("CLICKHOUSE_URL", "http://u:p@h:8123/bad-name", "identifier"),
    ("DEFAULT_BILLING_CURRENCY", "DOLLARS", "ISO 4217"),
    ("BATCH_INTERVAL_SECONDS", "soon", "integer"),
    ("BATCH_INTERVAL_SECONDS", "0", "greater than or equal to 1"),
    ("ANTHROPIC_BASE_URL", "api.anthropic.com", "http(s) URL"),
    ("SCHEMA_REGISTRY_URL", "registry:8081", "http(s) URL"),
]


@pytest.mark.parametrize(("variable", "value", "expected"), BAD_VALUES)
def test_bad_variable_names_itself_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKHOUSE_URL", "http://admin:hunter2-secret@h:8123/bad-name")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "hunter2-secret" not in str(error.value)


def test_defaults_are_the_embedded_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("KAFKA_BOOTSTRAP_SERVERS", "CLICKHOUSE_URL", "DEFAULT_BILLING_CURRENCY"):
        monkeypatch.delenv(variable, raising=False)
    settings = load_settings()
    assert settings.embedded_kafka and settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.embedded_clickhouse and settings.clickhouse.safe_url == "http://default@127.0.0.1:8123/usage_mart"
    assert settings.default_billing_currency == "USD"


def test_external_clickhouse_url_is_parsed_and_password_kept_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKHOUSE_URL", "https://reader:s3cret@ch.example.com:8443/analytics")
    target = load_settings().clickhouse
    assert (target.host, target.port, target.database, target.secure) == ("ch.example.com", 8443, "analytics", True)
    assert target.password == "s3cret" and "s3cret" not in repr(target)


def test_cli_prints_one_line_and_exits_2(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "usagemart", "migrate"], capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": "nope", "USAGEMART_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: KAFKA_BOOTSTRAP_SERVERS: expected host:port[,host:port...] "
                                                  "(got 'nope')"]
