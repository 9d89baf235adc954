"""Helpdesk API (defined by this project, see SOURCES.md): tickets, customers, products, logins.

Every resource is an `updated_since` feed (`streams.pollers.feed`). Tickets, customers and
products change in place (compacted topics: the newest `updated_at` of a key wins); logins only
ever arrive. Every run re-reads a trailing window (`HELPDESK_RESTATEMENT_DAYS`). Ticket text is
published as typed: cleaning is the batch's job (`stg_tickets`). No authentication.
"""

from __future__ import annotations

from datetime import timedelta

from streams.pollers.feed import ENTITY_LOOKBACK, feed_resource
from streams.pollers.source import Resource, Source
from streams.pollers.vendor_http import VendorHttp
from usagemart.settings import Settings

NAME = "helpdesk"


# --- client -------------------------------------------------------------------------------------

def client(settings: Settings) -> VendorHttp:
    """Unauthenticated client of the project's own API."""
    return VendorHttp(NAME, settings.helpdesk_base_url, requests_per_minute=settings.helpdesk_requests_per_minute,
                      timeout=settings.http_timeout_seconds)


def resources(settings: Settings) -> list[Resource]:
    """Everything this source reads, each into its raw topic."""
    restatement = timedelta(days=settings.helpdesk_restatement_days)
    return [
        feed_resource("customers", "/v1/helpdesk/customers", "raw.helpdesk.customers", "updated_at", restatement,
                      lookback=ENTITY_LOOKBACK),
        feed_resource("products", "/v1/helpdesk/products", "raw.helpdesk.products", "updated_at", restatement,
                      lookback=ENTITY_LOOKBACK),
        feed_resource("tickets", "/v1/helpdesk/tickets", "raw.helpdesk.tickets", "updated_at", restatement),
        feed_resource("logins", "/v1/helpdesk/logins", "raw.helpdesk.logins", "at", restatement),
    ]


SOURCE = Source(NAME, client, resources, cadence=timedelta(minutes=1))
