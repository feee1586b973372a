"""Open311 settings, from the environment (typed, failing loudly on malformed values)."""

from __future__ import annotations

import environ

_env = environ.Env()

# The one jurisdiction this endpoint serves. Clients may send it (or nothing); anything else is 404.
JURISDICTION_ID: str = _env.str("KUAIBAN_OPEN311_JURISDICTION", default="kuaiban.local")
# Human-readable contact and key instructions for discovery.{json,xml}.
CONTACT: str = _env.str("KUAIBAN_OPEN311_CONTACT", default="")
KEY_SERVICE: str = _env.str("KUAIBAN_OPEN311_KEY_SERVICE", default="")
# "production" or "test" in the discovery document.
ENDPOINT_TYPE: str = _env.str("KUAIBAN_OPEN311_ENDPOINT_TYPE", default="production")
# GET requests without an api_key: requests per minute per client address.
ANONYMOUS_RATE: int = _env.int("KUAIBAN_OPEN311_ANON_RATE", default=300)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
DESCRIPTION_MAX = 4000
# GET requests.{json,xml}: without page_size, one page is RESPONSE_LIMIT answers (as before
# paging); a page_size asked for is 1..PAGE_SIZE_MAX; page is 1..PAGE_MAX.
RESPONSE_LIMIT = 1000
PAGE_SIZE_MAX = 200
PAGE_MAX = 1_000_000
MAX_SPAN_DAYS = 90
