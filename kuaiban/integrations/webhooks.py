"""Outbound webhooks: registration, enqueueing on status changes, and delivery by a worker.

The person who changes an appeal never waits for a receiver: an after-commit hook only inserts a
:class:`~kuaiban.integrations.models.Delivery` row per interested webhook. ``kuaiban webhooks``
claims due rows with a conditional ``UPDATE … WHERE status = <what it read>`` (two workers never
send the same row), POSTs the JSON body signed with HMAC-SHA256, logs the attempt, and on failure
schedules the next one with exponential back-off until it gives up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals.models import TERMINAL_STATUSES, Appeal, AppealEvent
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.integrations.models import (
    WEBHOOK_EVENTS,
    ApiKey,
    Delivery,
    DeliveryAttempt,
    Intake,
    Webhook,
    new_secret,
)
from kuaiban.core.masking import mask_text

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=6)
MAX_ATTEMPTS = 10
STALE_CLAIM = dt.timedelta(minutes=5)
RESPONSE_KEEP = 1000
USER_AGENT = "Kuaiban-Webhooks/1.0"


def _iso(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# ----- registration -----------------------------------------------------------------------------


def webhook_create(
    *,
    api_key: ApiKey,
    url: str,
    events: list[str] | None = None,
    secret: str | None = None,
    scope: str = Webhook.Scope.OWN,
) -> Webhook:
    errors: list[FieldError] = []
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(FieldError("url", _("An http:// or https:// URL.")))
    unknown = [e for e in events or [] if e not in WEBHOOK_EVENTS]
    if unknown:
        errors.append(
            FieldError(
                "events",
                _("Unknown events %(unknown)s; choose from %(allowed)s.")
                % {"unknown": ", ".join(unknown), "allowed": ", ".join(WEBHOOK_EVENTS)},
            )
        )
    if scope not in Webhook.Scope.values:
        errors.append(FieldError("scope", _("One of: own, channel.")))
    if secret is not None and len(secret) < 16:
        errors.append(FieldError("secret", _("At least 16 characters.")))
    if errors:
        raise ValidationFailed(errors)
    return Webhook.objects.create(
        api_key=api_key,
        url=url,
        events=list(events or []),
        secret=secret or new_secret(),
        scope=scope,
    )


def signature(secret: str, body: bytes) -> str:
    """The value of X-Kuaiban-Signature for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# ----- enqueueing (after commit) ----------------------------------------------------------------


def _payload(event: AppealEvent) -> dict[str, Any]:
    appeal = event.appeal
    data: dict[str, Any] = {
        "number": appeal.number,
        "service_request_id": appeal.number,
        "action": event.action,
        "from_status": event.from_status or None,
        "to_status": event.to_status,
        "open311_status": "closed" if event.to_status in TERMINAL_STATUSES else "open",
        "at": _iso(event.at),
        "channel": appeal.channel,
        "category": appeal.category.code if appeal.category_id else None,  # type: ignore[union-attr]
        "lead_unit": (
            {"code": appeal.lead_unit.code, "name": appeal.lead_unit.name}
            if appeal.lead_unit_id and appeal.lead_unit
            else None
        ),
        "reply_due": _iso(appeal.reply_due),
    }
    if event.action in ("reply", "answer"):
        data["reply_result"] = event.payload.get("result")
        # The unit's words, masked as Open311's status_notes are: no personal data travels.
        known = (appeal.submitter_name, appeal.submitter_phone, appeal.submitter_id_number)
        data["reply_text"] = mask_text(event.note, known)
    if event.action == "merge":
        data["merged_into"] = event.payload.get("into")
    return data


def delivery_enqueue(appeal: Appeal, event: AppealEvent) -> None:
    """The after-commit hook: one pending delivery per webhook that wants this status change.

    No query for events that change no status (the sweep's alerts, notes); one query for the
    rest when nobody listens.
    """
    if event.action not in WEBHOOK_EVENTS or not event.to_status:
        return
    ids = _listening(appeal.pk)
    if not ids:
        return
    hooks = [h for h in Webhook.objects.filter(pk__in=ids) if h.wants(event.action)]
    if not hooks:
        return
    event.appeal = appeal
    payload = _payload(event)
    now = clock.now()
    rows = [
        Delivery(
            uid=str(uuid.uuid4()),
            webhook=h,
            event=event,
            event_type=f"appeal.{event.action}",
            payload=payload,
            next_attempt_at=now,
            created_at=now,
        )
        for h in {h.pk: h for h in hooks}.values()
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)


def _listening(appeal_id: int) -> list[int]:
    """Ids of the active webhooks that follow this appeal: one plain query, run on every event."""
    webhook, key = Webhook._meta.db_table, ApiKey._meta.db_table
    intake, appeal = Intake._meta.db_table, Appeal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT w.id FROM {webhook} w JOIN {key} k ON k.id = w.api_key_id "
            "WHERE w.active AND k.revoked_at IS NULL AND ("
            f"(w.scope = %s AND EXISTS (SELECT 1 FROM {intake} i "
            "WHERE i.appeal_id = %s AND i.api_key_id = k.id)) "
            f"OR (w.scope = %s AND k.channel = "
            f"(SELECT a.channel FROM {appeal} a WHERE a.id = %s)))",
            [Webhook.Scope.OWN, appeal_id, Webhook.Scope.CHANNEL, appeal_id],
        )
        return [row[0] for row in cursor.fetchall()]


# ----- delivery ---------------------------------------------------------------------------------


def body_of(delivery: Delivery) -> bytes:
    """The exact bytes POSTed (the same on every attempt, so receivers can de-duplicate by id)."""
    envelope = {
        "id": delivery.uid,
        "type": delivery.event_type,
        "created_at": _iso(delivery.created_at),
        "data": delivery.payload,
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _due(now: dt.datetime) -> Q:
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    )


def delivery_claim() -> Delivery | None:
    """Claim the most overdue delivery, or None. A conditional UPDATE decides between workers."""
    now = clock.now()
    for _attempt in range(10):
        candidate = (
            Delivery.objects.filter(_due(now))
            .order_by("next_attempt_at", "id")
            .values("pk", "status", "claimed_at")
            .first()
        )
        if candidate is None:
            return None
        won = Delivery.objects.filter(
            pk=candidate["pk"], status=candidate["status"], claimed_at=candidate["claimed_at"]
        ).update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if won:
            return Delivery.objects.select_related("webhook__api_key").get(pk=candidate["pk"])
    return None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not an invitation to post elsewhere


_opener = urllib.request.build_opener(_NoRedirects)


def _post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str, str]:
    """POST; returns (status code or None, response text, error)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read(RESPONSE_KEEP).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as exc:
        text = exc.read(RESPONSE_KEEP).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, text, ""
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, "", f"{type(exc).__name__}: {reason}"[:300]


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failure: 30 s, 1 min, 2 min, 4 min … capped at 6 h."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def _drop(delivery: Delivery, reason: str) -> DeliveryAttempt:
    """Settle a claimed delivery as failed without sending it."""
    with transaction.atomic():
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, at=clock.now(), error=reason
        )
        Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.SENDING, claimed_at=delivery.claimed_at
        ).update(status=Delivery.Status.FAILED, claimed_at=None, next_attempt_at=None)
    return attempt


def delivery_send(delivery: Delivery, *, timeout: float = TIMEOUT_SECONDS) -> DeliveryAttempt:
    """Send a claimed delivery once, log the attempt, and settle or reschedule it."""
    hook = delivery.webhook
    if not hook.active or hook.api_key.revoked_at is not None:
        return _drop(delivery, "not sent: the webhook is inactive or its API key revoked")
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Kuaiban-Event": delivery.event_type,
        "X-Kuaiban-Delivery": delivery.uid,
        "X-Kuaiban-Attempt": str(delivery.attempts),
        "X-Kuaiban-Signature": signature(delivery.webhook.secret, body),
    }
    started_at = clock.now()
    started = time.monotonic()
    code, text, error = _post(delivery.webhook.url, body, headers, timeout)
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    now = clock.now()
    with transaction.atomic():
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            at=started_at,
            duration_ms=duration_ms,
            status_code=code,
            response_body=text,
            error=error,
        )
        changes: dict[str, Any] = {"last_status_code": code, "claimed_at": None}
        if ok:
            changes.update(status=Delivery.Status.DELIVERED, delivered_at=now, next_attempt_at=None)
        elif delivery.attempts >= MAX_ATTEMPTS:
            changes.update(status=Delivery.Status.FAILED, next_attempt_at=None)
        else:
            changes.update(
                status=Delivery.Status.PENDING, next_attempt_at=now + backoff(delivery.attempts)
            )
        # Only settle our own claim (a worker that took over a stale claim owns it now).
        Delivery.objects.filter(
            pk=delivery.pk, status=Delivery.Status.SENDING, claimed_at=delivery.claimed_at
        ).update(**changes)
    return attempt


def deliveries_run(*, limit: int | None = None, timeout: float = TIMEOUT_SECONDS) -> int:
    """Send every delivery due now (or ``limit`` of them); returns how many were attempted."""
    done = 0
    while limit is None or done < limit:
        delivery = delivery_claim()
        if delivery is None:
            break
        delivery_send(delivery, timeout=timeout)
        done += 1
    return done


def delivery_retry(delivery: Delivery) -> bool:
    """Put a failed delivery back in the queue for another round of attempts."""
    return bool(
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING, next_attempt_at=clock.now(), attempts=0
        )
    )
