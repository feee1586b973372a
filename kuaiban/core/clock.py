"""The one place the application asks for the time.

Services call :func:`now`; the demo loader and tests may pin it with :func:`frozen` so that a
whole history can be written "in the past" through the ordinary services.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_pinned: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "kuaiban_clock", default=None
)


def now() -> dt.datetime:
    pinned = _pinned.get()
    return pinned if pinned is not None else timezone.now()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[None]:
    if timezone.is_naive(at):
        raise ValueError("the clock only takes aware datetimes")
    token = _pinned.set(at)
    try:
        yield
    finally:
        _pinned.reset(token)
