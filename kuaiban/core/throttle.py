"""Counting wrong guesses: a fixed-window failure counter on Django's shared cache.

Used by the public lookups (/track/, Open311 by service_request_id), which take a key that can
be guessed. Only failures count; once a subject (a client address, a tracking number) has had
``limit`` failures in the current window, every lookup for it is refused with
:class:`Throttled` (429 with Retry-After) until the window ends, right answers included, so a
guesser learns nothing more.

The counters live in the ``shared`` cache (settings.CACHES): a database table by default, so all
web processes count together; Redis or memcached with CACHE_URL. ``cache.add`` then
``cache.incr`` is atomic on Redis and memcached; on the database table two simultaneous
failures may count once, which at most doubles the limit under a concurrent burst.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.cache import caches
from django.utils.translation import gettext as _

from kuaiban.core.errors import DomainError, FieldError

if TYPE_CHECKING:
    from django.http import HttpRequest


class Throttled(DomainError):
    """Too many wrong guesses (or requests); ``retry_after`` is in whole seconds (at least 1).
    ``field``, when given, names the input the refusal is about."""

    def __init__(self, message: str, retry_after: int, *, field: str | None = None) -> None:
        super().__init__(
            message=message,
            code="throttled",
            status=429,
            errors=[FieldError(field, message)] if field else [],
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Subject:
    """One thing whose failures are counted: ``scope`` (e.g. "track:addr") and its value."""

    scope: str
    value: str
    limit: int
    window_seconds: int

    def _window(self, now: float) -> int:
        return int(now // self.window_seconds)

    def key(self, now: float) -> str:
        # Hashed: the cache key holds no address or number, and any value fits a memcached key.
        digest = hashlib.sha256(self.value.encode()).hexdigest()[:32]
        return f"throttle:{self.scope}:{digest}:{self._window(now)}"

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil((self._window(now) + 1) * self.window_seconds - now))


def _cache():  # type: ignore[no-untyped-def]
    return caches["shared"]


def check(*subjects: Subject, message: str | None = None, field: str | None = None) -> None:
    """Throttled if any subject has used up its failures in this window. ``message`` (with
    ``%(seconds)d`` and ``%(minutes)d``) replaces the wrong-attempts text, for counters of
    requests rather than failures (:func:`fail` counts either)."""
    now = time.time()
    keys = {s.key(now): s for s in subjects}
    counts = _cache().get_many(list(keys))
    worst = [s.retry_after(now) for k, s in keys.items() if int(counts.get(k) or 0) >= s.limit]
    if worst:
        seconds = max(worst)
        text = message or _(
            "Too many wrong attempts. For your security, lookups are paused: "
            "try again in %(minutes)d minutes."
        )
        raise Throttled(
            text % {"minutes": math.ceil(seconds / 60), "seconds": seconds}, seconds, field=field
        )


def fail(*subjects: Subject) -> None:
    """Count one failure against each subject."""
    now = time.time()
    cache = _cache()
    for s in subjects:
        key = s.key(now)
        ttl = s.retry_after(now) + 5
        cache.add(key, 0, ttl)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: this failure starts a new count
            cache.add(key, 1, ttl)
        # incr keeps the expiry on Redis and memcached; the database backend's incr rewrites
        # the row with the default timeout, so set it back to the window's end.
        cache.touch(key, ttl)


def client_address(request: HttpRequest) -> str:
    """The client address public calls are counted against (behind a proxy: the proxy's,
    unless the web server rewrites REMOTE_ADDR from the proxy's header, as Granian and most
    reverse proxies can be told to)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")
