"""The event chain and its after-commit hooks: how each transition records what it did.

Every transition appends exactly one event per appeal it changes (``record_event``), sealed into
the appeal's hash chain; the hooks registered with ``on_event`` (notifications, webhooks, routing)
run only once the transaction commits, and not at all while ``hooks_paused``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals import audit
from kuaiban.appeals.models import (
    Appeal,
    AppealEvent,
)
from kuaiban.core import clock
from kuaiban.org.models import User

log = logging.getLogger(__name__)


EventHook = Callable[[Appeal, AppealEvent], None]
_event_hooks: list[EventHook] = []
_hooks_paused: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kuaiban_hooks_paused", default=False
)


def on_event(hook: EventHook) -> EventHook:
    """Register ``hook(appeal, event)``, called after each event's transaction commits.

    Hooks get the objects the transaction wrote (the appeal as it was committed), so the many
    events a hook does not care about cost it no query. A hook that writes must not save the
    appeal it is given: it may be stale by then; lock and re-read it through a service instead.
    """
    _event_hooks.append(hook)
    return hook


@contextlib.contextmanager
def hooks_paused() -> Iterator[None]:
    """Record events without running the after-commit hooks (webhooks, notifications, routing).

    For replaying history that happened elsewhere (the ledger importer): its events are facts
    of the past, not news; nobody is told of them and nothing is dispatched automatically.
    """
    token = _hooks_paused.set(True)
    try:
        yield
    finally:
        _hooks_paused.reset(token)


def _run_hooks(appeal: Appeal, event: AppealEvent) -> None:
    # The change is committed: a failing hook is logged and must neither stop the others nor
    # turn the committed change into an error for the person who made it.
    for hook in _event_hooks:
        try:
            hook(appeal, event)
        except Exception:
            log.exception("after-commit hook %s failed for event %s", hook.__qualname__, event.pk)


def record_event(
    appeal: Appeal,
    *,
    actor: User | None,
    action: str,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    payload: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AppealEvent:
    """Append one event to the appeal's chain; the caller saves the appeal afterwards."""
    at = (at or clock.now()).astimezone(dt.UTC)
    seq = appeal.event_count + 1
    prev = appeal.last_event_hash
    payload = payload or {}
    event = AppealEvent(
        appeal=appeal,
        seq=seq,
        at=at,
        actor=actor,
        actor_label=actor.label if actor else _("system"),
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        payload=payload,
        prev_hash=prev,
    )
    audit.seal(event)  # plain SHA-256, or HMAC-SHA256 with AUDIT_KEY
    event.save(force_insert=True)
    appeal.event_count = seq
    appeal.last_event_hash = event.hash
    appeal.__dict__.setdefault("recorded_events", []).append(event)
    if _event_hooks and not _hooks_paused.get():
        transaction.on_commit(partial(_run_hooks, appeal, event))
    return event
