"""Sending SMS: render an administrator's template, log the message, deliver it after commit.

:func:`send_sms` writes one :class:`~kuaiban.notify.models.SmsMessage` row (the delivery log)
in the caller's transaction and, once that commits, hands it to the backend
(``KUAIBAN_SMS_BACKEND``, :mod:`kuaiban.notify.backends`). A message that cannot go at once
stays queued: during quiet hours (``KUAIBAN_SMS_QUIET_HOURS``, e.g. 22:00-08:00 in the
installation's time zone) every non-urgent message waits for their end, while verification
codes and other urgent templates are never held; a failed attempt that may work later is retried
by ``kuaiban sms --loop`` after 30 s, 1, 2, 4 … minutes (at most an hour) up to
``KUAIBAN_SMS_MAX_ATTEMPTS``. Workers claim a row with a conditional ``UPDATE … WHERE status =
<what it read>`` so two of them never send the same message.

Once a message has been delivered (or given up), a verification code in it is blanked in the
log: the log keeps who was told what and when, not the keys.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.template import Context, Template
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Appeal
from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import clean_phone
from kuaiban.notify.backends import Outgoing, SmsError, get_backend
from kuaiban.notify.models import SmsMessage, SmsTemplate

log = logging.getLogger(__name__)

BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
STALE_CLAIM = dt.timedelta(minutes=5)
# Templates that are never held by quiet hours, whatever the administrator ticks.
ALWAYS_URGENT = frozenset({"code"})
# Context values blanked in the log once the message is settled: a verification code is a key
# that must not outlive its message. (An access code stays: a failed receipt can be sent again;
# the admin shows it masked to everyone but superusers.)
SECRET_PARAMS = ("code",)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_DJANGO_VARIABLE = re.compile(r"\{\{\s*(\w+)")


# ----- templates ---------------------------------------------------------------------------------


def _is_django(text: str) -> bool:
    return "{{" in text or "{%" in text


def render(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with its placeholders filled: Django template syntax when it uses ``{{`` or
    ``{%``, else ``{name}`` replaced by ``context[name]`` (unknown names are left as typed, so
    a mistyped placeholder shows in the outbox rather than vanishing)."""
    if _is_django(text):
        return Template(text).render(Context(dict(context), autoescape=False)).strip()
    return _PLACEHOLDER.sub(
        lambda m: str(context[m.group(1)]) if m.group(1) in context else m.group(0), text
    )


def placeholders(text: str) -> list[str]:
    """The names a template's text uses, in order of first appearance."""
    pattern = _DJANGO_VARIABLE if _is_django(text) else _PLACEHOLDER
    seen: list[str] = []
    for match in pattern.finditer(text):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def provider_params(template: SmsTemplate) -> list[str]:
    listed = [p.strip() for p in template.provider_params.split(",") if p.strip()]
    return listed or placeholders(template.text)


# ----- quiet hours -------------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(str(getattr(settings, "KUAIBAN_SMS_TIMEZONE", "") or settings.TIME_ZONE))


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    """(start, end) from ``KUAIBAN_SMS_QUIET_HOURS`` ("22:00-08:00"), None when empty."""
    raw = str(getattr(settings, "KUAIBAN_SMS_QUIET_HOURS", "") or "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})", raw)
    if match is None:
        raise ImproperlyConfigured(f'KUAIBAN_SMS_QUIET_HOURS is "HH:MM-HH:MM", not {raw!r}')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError as exc:
        raise ImproperlyConfigured(f"KUAIBAN_SMS_QUIET_HOURS: {exc}") from None
    return None if start == end else (start, end)


def quiet_until(at: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours ``at`` falls in (aware), or None when it is not quiet."""
    hours = quiet_hours()
    if hours is None:
        return None
    start, end = hours
    local = at.astimezone(_zone())
    t = local.timetz().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-14:00, within one day
        quiet = start <= t < end
        day = local.date()
    else:  # across midnight, e.g. 22:00-08:00
        quiet = t >= start or t < end
        day = local.date() + dt.timedelta(days=1) if t >= start else local.date()
    if not quiet:
        return None
    return dt.datetime.combine(day, end, tzinfo=_zone())


# ----- sending -----------------------------------------------------------------------------------


def _template(code: str) -> SmsTemplate:
    found = SmsTemplate.objects.filter(code=code).first()
    if found is None:
        raise ValidationFailed.one(
            "template", _("No SMS template with the code %(code)s.") % {"code": code}
        )
    return found


def send_sms(
    to: str, template: str, context: Mapping[str, Any], *, appeal: Appeal | None = None
) -> SmsMessage:
    """Queue the SMS ``template`` (an :class:`SmsTemplate` code) rendered with ``context`` to the
    mainland number ``to``, logged as one :class:`SmsMessage`, and deliver it once the caller's
    transaction commits (at once outside one). Refused with 400 naming ``phone`` for a number
    that is not a valid mainland number, ``template`` for an unknown template.

    Non-urgent messages written during quiet hours wait for their end (``next_attempt_at``);
    an inactive template logs the message as ``skipped`` and sends nothing. The row is
    returned as written; its status changes as the backend answers."""
    phone = clean_phone(to, field="phone")
    chosen = _template(template)
    params = {str(k): "" if v is None else str(v) for k, v in context.items()}
    text = render(chosen.text, params)
    urgent = chosen.urgent or chosen.code in ALWAYS_URGENT
    now = clock.now()
    hold = None if urgent else quiet_until(now)
    message = SmsMessage.objects.create(
        to=phone,
        text=text,
        template=chosen.code,
        params=params,
        urgent=urgent,
        status=SmsMessage.Status.QUEUED if chosen.active else SmsMessage.Status.SKIPPED,
        appeal=appeal,
        created_at=now,
        next_attempt_at=(hold or now) if chosen.active else None,
    )
    if not chosen.active:
        _redact(message.pk)
    elif hold is None:
        transaction.on_commit(partial(_deliver_now, message, chosen))
    return message


def _deliver_now(message: SmsMessage, template: SmsTemplate) -> None:
    # After commit: the caller's change stands whatever the gateway says; a failure stays in
    # the log for the worker to retry. The row and its template are the ones just written and
    # read, so the claim is one UPDATE (the worker may have taken it meanwhile: then it is its).
    try:
        now = clock.now()
        won = (
            SmsMessage.objects.filter(_due(now), pk=message.pk)
            .filter(status=SmsMessage.Status.QUEUED)
            .update(status=SmsMessage.Status.SENDING, claimed_at=now)
        )
        if won:
            claimed = copy.copy(message)  # the caller's row stays as it was written
            claimed.status, claimed.claimed_at = SmsMessage.Status.SENDING, now
            message_send(claimed, template=template)
    except Exception:
        log.exception("SMS %s: immediate delivery failed; the worker will retry", message.pk)


def _due(now: dt.datetime) -> Q:
    return Q(status=SmsMessage.Status.QUEUED, next_attempt_at__lte=now) | Q(
        status=SmsMessage.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    )


def message_claim(*, pk: int | None = None) -> SmsMessage | None:
    """Claim the most overdue message (or message ``pk`` if due), or None."""
    now = clock.now()
    for _attempt in range(10):
        rows = SmsMessage.objects.filter(_due(now))
        if pk is not None:
            rows = rows.filter(pk=pk)
        candidate = (
            rows.order_by("next_attempt_at", "id").values("pk", "status", "claimed_at").first()
        )
        if candidate is None:
            return None
        won = SmsMessage.objects.filter(
            pk=candidate["pk"], status=candidate["status"], claimed_at=candidate["claimed_at"]
        ).update(status=SmsMessage.Status.SENDING, claimed_at=now)
        if won:
            return SmsMessage.objects.get(pk=candidate["pk"])
    return None


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, 4 min … capped at an hour."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def max_attempts() -> int:
    return int(getattr(settings, "KUAIBAN_SMS_MAX_ATTEMPTS", 8))


def _settle(message: SmsMessage, **changes: Any) -> None:
    # Only our own claim (a worker that took over a stale claim owns the row now).
    SmsMessage.objects.filter(
        pk=message.pk, status=SmsMessage.Status.SENDING, claimed_at=message.claimed_at
    ).update(claimed_at=None, **changes)


def _outgoing(message: SmsMessage, template: SmsTemplate | None) -> Outgoing:
    return Outgoing(
        to=message.to,
        text=message.text,
        template=message.template,
        params=dict(message.params or {}),
        provider_template=template.provider_template if template else "",
        provider_params=tuple(provider_params(template)) if template else (),
        reference=f"kb-sms-{message.pk}",
    )


def message_send(message: SmsMessage, *, template: SmsTemplate | None = None) -> SmsMessage.Status:
    """Send a claimed message once (unless quiet hours hold it), then settle or reschedule it,
    blanking its key material in the same write once it is settled. ``template`` is its
    template when the caller has it at hand. Returns the status it was left in."""
    now = clock.now()
    hold = None if message.urgent else quiet_until(now)
    if hold is not None:
        _settle(message, status=SmsMessage.Status.QUEUED, next_attempt_at=hold)
        return SmsMessage.Status.QUEUED
    attempts = message.attempts + 1
    try:
        if template is None:
            template = SmsTemplate.objects.filter(code=message.template).first()
        provider_id = get_backend().send(_outgoing(message, template))
    except SmsError as exc:
        error, retry = str(exc), exc.retry
    except Exception as exc:  # a backend's own bug: logged, and tried again like a timeout
        log.exception("SMS %s: the backend failed", message.pk)
        error, retry = f"{type(exc).__name__}: {exc}", True
    else:
        _settle(
            message,
            status=SmsMessage.Status.SENT,
            attempts=attempts,
            sent_at=clock.now(),
            provider_id=provider_id,
            next_attempt_at=None,
            last_error="",
            **_redacted(message),
        )
        return SmsMessage.Status.SENT
    if retry and attempts < max_attempts():
        due = now + backoff(attempts)
        if not message.urgent:
            due = quiet_until(due) or due
        _settle(
            message,
            status=SmsMessage.Status.QUEUED,
            attempts=attempts,
            next_attempt_at=due,
            last_error=error[:300],
        )
        return SmsMessage.Status.QUEUED
    _settle(
        message,
        status=SmsMessage.Status.FAILED,
        attempts=attempts,
        next_attempt_at=None,
        last_error=error[:300],
        **_redacted(message),
    )
    return SmsMessage.Status.FAILED


def _redacted(message: SmsMessage) -> dict[str, Any]:
    """The message's text and params with their key material blanked, or {} if it has none."""
    params = dict(message.params or {})
    text = message.text
    for key in SECRET_PARAMS:
        value = params.get(key) or ""
        if value and set(value) != {"*"}:
            text = text.replace(value, "*" * len(value))
            params[key] = "*" * len(value)
    return {"text": text, "params": params} if params != (message.params or {}) else {}


def _redact(pk: int) -> None:
    """Blank the key material of a settled message in the log."""
    message = SmsMessage.objects.filter(pk=pk).exclude(status=SmsMessage.Status.QUEUED).first()
    if message is None or message.status == SmsMessage.Status.SENDING:
        return
    changes = _redacted(message)
    if changes:
        SmsMessage.objects.filter(pk=pk).update(**changes)


def messages_run(*, limit: int | None = None) -> int:
    """Send every message due now (or ``limit`` of them); returns how many were handled."""
    done = 0
    while limit is None or done < limit:
        message = message_claim()
        if message is None:
            break
        message_send(message)
        done += 1
    return done


def message_retry(message: SmsMessage) -> bool:
    """Put a failed message back in the queue for another round of attempts (not a
    verification code: its code is blanked, and the person asks for a new one)."""
    if message.template in ALWAYS_URGENT:
        return False
    return bool(
        SmsMessage.objects.filter(pk=message.pk, status=SmsMessage.Status.FAILED).update(
            status=SmsMessage.Status.QUEUED, next_attempt_at=clock.now(), attempts=0
        )
    )
