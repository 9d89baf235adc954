"""Funnel API (defined by this project, see SOURCES.md): sessions, subscriptions, funnels, product events.

Every resource is an `updated_since` feed (`streams.pollers.feed`). Sessions, subscription charge
attempts and funnels change in place (compacted topics: the newest `updated_at` of a key wins);
product events only ever arrive. Every run re-reads a trailing window (`FUNNEL_RESTATEMENT_DAYS`).
No authentication.
"""

from __future__ import annotations

from datetime import timedelta

from streams.pollers.feed import ENTITY_LOOKBACK, feed_resource
from streams.pollers.source import Resource, Source
from streams.pollers.vendor_http import VendorHttp
from usagemart.settings import Settings

NAME = "funnel"


# --- client -------------------------------------------------------------------------------------

def client(settings: Settings) -> VendorHttp:
    """Unauthenticated client of the project's own API."""
    return VendorHttp(NAME, settings.funnel_base_url, requests_per_minute=settings.funnel_requests_per_minute,
                      timeout=settings.http_timeout_seconds)


def resources(settings: Settings) -> list[Resource]:
    """Everything this source reads, each into its raw topic."""
    restatement = timedelta(days=settings.funnel_restatement_days)
    return [
        feed_resource("funnels", "/v1/funnel/funnels", "raw.funnel.funnels", "updated_at", restatement,
                      lookback=ENTITY_LOOKBACK),
        feed_resource("sessions", "/v1/funnel/sessions", "raw.funnel.sessions", "updated_at", restatement),
        feed_resource("subscriptions", "/v1/funnel/subscriptions", "raw.funnel.subscriptions", "updated_at",
                      restatement),
        feed_resource("product_events", "/v1/funnel/product_events", "raw.funnel.product_events", "time",
                      restatement),
    ]


SOURCE = Source(NAME, client, resources, cadence=timedelta(minutes=1))
