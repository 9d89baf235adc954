"""All configuration, from environment variables (and an optional `.env`), validated at start.

Each field is documented where it is declared. A bad value fails with one line naming the
variable and what is expected (`ConfigError`); secret values are never echoed.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_CLICKHOUSE_PORT = 8123
LOCAL_KAFKA_PORT = 9092
SIMULATOR_PORT = 8765
DEFAULT_DATABASE = "usage_mart"

_SECRET_FIELDS = {"anthropic_admin_api_key", "cursor_api_key", "stripe_api_key", "clickhouse_url", "schema_registry_url"}


class ConfigError(ValueError):
    """A configuration variable has a bad value; the message is one line, secret-free."""


class ClickHouseTarget:
    """Where ClickHouse is: parsed from `CLICKHOUSE_URL` (credentials kept out of `repr`)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("expected http(s)://[user:password@]host:port/database")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (8443 if self.secure else 8123)
        self.username = unquote(parts.username) if parts.username else "default"
        self.password = unquote(parts.password) if parts.password else ""
        self.database = parts.path.strip("/") or DEFAULT_DATABASE
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.database):
            raise ValueError("the database name in the path must be an identifier")

    @property
    def safe_url(self) -> str:
        """The URL without the password, for logs."""
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"

    def __repr__(self) -> str:
        return f"ClickHouseTarget({self.safe_url})"


class Settings(BaseSettings):
    """usage-mart settings. Unset means the embedded default (local broker, embedded ClickHouse)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    usagemart_home: Path = Field(default=Path(".usagemart"))
    """Local state: broker and ClickHouse data, checkpoints, logs, pid files."""

    kafka_bootstrap_servers: str | None = None
    """An existing Kafka cluster (`host:port[,host:port]`); unset starts the local broker."""

    clickhouse_url: str | None = None
    """An existing ClickHouse (`http://user:pass@host:8123/db`); unset uses the embedded endpoint."""

    clickhouse_cluster: str | None = None
    """Cluster name: migrations then use `ON CLUSTER` and Replicated engines."""

    schema_registry_url: str | None = None
    """Confluent Schema Registry; unset identifies writer schemas in a record header."""

    anthropic_admin_api_key: SecretStr | None = None
    """Anthropic Admin API key (`sk-ant-admin…`)."""

    cursor_api_key: SecretStr | None = None
    """Cursor Admin API key."""

    stripe_api_key: SecretStr | None = None
    """Stripe secret key (`sk_…`)."""

    anthropic_base_url: str = "https://api.anthropic.com"
    """Anthropic API base; point it at the simulator to poll simulated data."""

    cursor_base_url: str = "https://api.cursor.com"
    """Cursor API base."""

    stripe_base_url: str = "https://api.stripe.com"
    """Stripe API base."""

    product_base_url: str = f"http://127.0.0.1:{SIMULATOR_PORT}"
    """Product usage, catalog and price book API base (defined by this project)."""

    funnel_base_url: str = f"http://127.0.0.1:{SIMULATOR_PORT}"
    """Funnel sessions, subscriptions, funnels and product events API base (defined by this project)."""

    helpdesk_base_url: str = f"http://127.0.0.1:{SIMULATOR_PORT}"
    """Helpdesk tickets, customers, products and logins API base (defined by this project)."""

    simulator_port: int = Field(default=SIMULATOR_PORT, ge=1, le=65535)
    """Port of `usagemart simulate` on loopback."""

    default_billing_currency: str = "USD"
    """ISO 4217 currency that prices are billed in when the price book names none."""

    batch_interval_seconds: int = Field(default=60, ge=1)
    """Seconds between micro-batches in `usagemart batch schedule`."""

    anthropic_restatement_days: int = Field(default=3, ge=0)
    """Trailing days every Anthropic poll re-reads, because recent days are restated."""

    cursor_restatement_days: int = Field(default=2, ge=0)
    """Trailing days every Cursor poll re-reads (data are aggregated hourly and settle late)."""

    stripe_restatement_days: int = Field(default=1, ge=0)
    """Trailing days of Stripe events re-read on every poll."""

    product_restatement_days: int = Field(default=1, ge=0)
    """Trailing window of product usage `updated_since` re-read on every poll."""

    funnel_restatement_days: int = Field(default=1, ge=0)
    """Trailing window of the funnel API's `updated_since` re-read on every poll."""

    helpdesk_restatement_days: int = Field(default=1, ge=0)
    """Trailing window of the helpdesk API's `updated_since` re-read on every poll."""

    anthropic_requests_per_minute: float = Field(default=60, gt=0)
    """Request budget for the Anthropic Admin API."""

    cursor_requests_per_minute: float = Field(default=20, gt=0)
    """Request budget for the Cursor Admin API (documented limit: ~20/minute per team)."""

    stripe_requests_per_minute: float = Field(default=1500, gt=0)
    """Request budget for Stripe (documented: 25/s in test mode, 100/s live)."""

    product_requests_per_minute: float = Field(default=600, gt=0)
    """Request budget for the product usage API."""

    funnel_requests_per_minute: float = Field(default=600, gt=0)
    """Request budget for the funnel API."""

    helpdesk_requests_per_minute: float = Field(default=600, gt=0)
    """Request budget for the helpdesk API."""

    http_timeout_seconds: float = Field(default=30, gt=0)
    """Seconds a vendor API request may take (connect, read or write) before it is retried."""

    @field_validator("kafka_bootstrap_servers", "clickhouse_url", "clickhouse_cluster", "schema_registry_url",
                     "anthropic_admin_api_key", "cursor_api_key", "stripe_api_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("default_billing_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError("expected a 3-letter ISO 4217 code such as USD")
        return value.upper()

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for server in value.split(","):
            if not re.fullmatch(r"[^\s:,]+:\d{1,5}", server.strip()):
                raise ValueError("expected host:port[,host:port...]")
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _clickhouse_url(cls, value: str | None) -> str | None:
        if value is not None:
            ClickHouseTarget(value)
        return value

    @field_validator("anthropic_base_url", "cursor_base_url", "stripe_base_url", "product_base_url",
                     "funnel_base_url", "helpdesk_base_url", "schema_registry_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("expected an http(s) URL")
        return value.rstrip("/")

    @property
    def embedded_kafka(self) -> bool:
        """True when no external cluster is configured and the local broker is used."""
        return self.kafka_bootstrap_servers is None

    @property
    def bootstrap_servers(self) -> str:
        """Kafka bootstrap servers in effect."""
        return self.kafka_bootstrap_servers or f"127.0.0.1:{LOCAL_KAFKA_PORT}"

    @property
    def embedded_clickhouse(self) -> bool:
        """True when no ClickHouse server is configured and the embedded endpoint is used."""
        return self.clickhouse_url is None

    @cached_property
    def clickhouse(self) -> ClickHouseTarget:
        """The ClickHouse in effect."""
        url = self.clickhouse_url or f"http://default@127.0.0.1:{EMBEDDED_CLICKHOUSE_PORT}/{DEFAULT_DATABASE}"
        return ClickHouseTarget(url)

    @property
    def home(self) -> Path:
        """Absolute local state directory, created on demand."""
        path = self.usagemart_home.resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def require_secret(self, field: str) -> str:
        """The secret's value, or `ConfigError` naming the variable when it is not set."""
        value = getattr(self, field)
        if value is None:
            raise ConfigError(f"{field.upper()}: required by this command but not set")
        return str(value.get_secret_value())

    @property
    def simulator_url(self) -> str:
        """Base URL of the simulator on loopback."""
        return f"http://127.0.0.1:{self.simulator_port}"


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "configuration"
    message = first["msg"].removeprefix("Value error, ")
    detail = "" if field in _SECRET_FIELDS else f" (got {first.get('input')!r})"
    return f"{field.upper()}: {message}{detail}"


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; raise `ConfigError` with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
