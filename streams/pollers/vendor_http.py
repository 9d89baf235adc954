"""HTTP to vendor APIs: rate limited, retried with backoff and jitter, pages parsed in the retry.

A page is fetched, decoded and parsed as one unit: a truncated or mistyped body is retried like
a 5xx, and after the last attempt `MalformedPage` reports the source, endpoint, request and a
short excerpt. Nothing of a failed page is returned, so nothing of it is published.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}


class PollError(RuntimeError):
    """A page could not be fetched; the message names source, endpoint and request."""


class MalformedPage(PollError):
    """The vendor answered 200 with a body that is not the documented shape."""


class RetryableResponse(PollError):
    """A 429/5xx answer; carries the vendor's `Retry-After` seconds when it sent one."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """Spaces requests so that at most `per_minute` start in any minute (thread-safe)."""

    def __init__(self, per_minute: float) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = max(0.0, self._next - now)
            self._next = max(now, self._next) + self.interval
        if delay:
            time.sleep(delay)


@dataclass
class RetryPolicy:
    """Backoff for 429/5xx/timeouts/malformed pages: exponential with full jitter, capped."""

    attempts: int = 8
    initial: float = 0.5
    maximum: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableResponse) and error.retry_after is not None:
            return min(error.retry_after, self.maximum)
        return random.uniform(0, min(self.maximum, self.initial * 2 ** (state.attempt_number - 1)))


@dataclass
class VendorHttp:
    """One vendor's HTTP client: base URL, auth headers, rate limit, retries."""

    source: str
    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: httpx.Auth | tuple[str, str] | None = None
    requests_per_minute: float = 0.0
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    requests_made: int = 0

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.base_url, headers=dict(self.headers), auth=self.auth,
                                    timeout=self.timeout)
        self._limiter = RateLimiter(self.requests_per_minute)

    def close(self) -> None:
        self._client.close()

    def page(self, method: str, path: str, parse: Callable[[Any], T], *,
             params: Any = None, json_body: Any = None) -> T:
        """Fetch one page and parse it, retrying transient failures; raise `PollError` at the end."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts), wait=self.retry.wait, reraise=True,
            retry=retry_if_exception_type((RetryableResponse, MalformedPage, httpx.TransportError)),
            before_sleep=lambda state: logger.warning(
                "%s %s %s: attempt %d failed (%s), retrying", self.source, method, path,
                state.attempt_number, state.outcome.exception() if state.outcome else "?"),
        )
        try:
            return retrying(self._fetch, method, path, parse, params, json_body)
        except httpx.TransportError as error:
            raise PollError(f"{self.source} {method} {path} {self._describe(params, json_body)}: "
                            f"{type(error).__name__}: {error}") from error

    def _fetch(self, method: str, path: str, parse: Callable[[Any], T], params: Any, json_body: Any) -> T:
        self._limiter.wait()
        self.requests_made += 1
        response = self._client.request(method, path, params=params, json=json_body)
        request = f"{self.source} {method} {path} {self._describe(params, json_body)}"
        if response.status_code in RETRYABLE_STATUS:
            raise RetryableResponse(f"{request}: HTTP {response.status_code}: {_excerpt(response.text)}",
                                    _retry_after(response))
        if response.status_code >= 400:
            raise PollError(f"{request}: HTTP {response.status_code}: {_excerpt(response.text)}")
        try:
            return parse(response.json())
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise MalformedPage(f"{request}: malformed response ({type(error).__name__}: {error}); "
                                f"body starts {_excerpt(response.text)}") from None

    @staticmethod
    def _describe(params: Any, json_body: Any) -> str:
        return json.dumps(json_body if json_body is not None else params, default=str, sort_keys=True)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _excerpt(text: str, length: int = 200) -> str:
    return repr(text[:length] + ("…" if len(text) > length else ""))
