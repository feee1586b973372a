"""Outbound webhooks: registration, enqueueing on status changes, and delivery by a worker.

The person who changes an appeal never waits for a receiver: an after-commit hook only inserts a
:class:`~kuaiban.integrations.models.Delivery` row per interested webhook. ``kuaiban webhooks``
claims due rows with a conditional ``UPDATE … WHERE status = <what it read>`` (two workers never
send the same row), POSTs the JSON body signed as the Standard Webhooks specification says
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), logs the attempt, and on failure
schedules the next one with exponential back-off until it gives up.

A subscriber gets only what the app would show its API key: never a confidential kind (举报),
which no key can open (Open311 hides them too); checked when a delivery is queued and again when
it is sent. The one exception is an upper-level platform that sent the appeal down itself
(上级转办, :mod:`kuaiban.integrations.upstream`): it hears its own appeal's outcome, nothing
more. An escalation (上报) goes to the webhook of the platform it names. Webhooks post to public
addresses only (:mod:`kuaiban.integrations.addresses`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook as StandardWebhook

from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    TERMINAL_STATUSES,
    Action,
    Appeal,
    AppealEvent,
)
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.core.masking import mask_text
from kuaiban.integrations import addresses
from kuaiban.integrations.models import (
    WEBHOOK_EVENTS,
    ApiKey,
    Delivery,
    DeliveryAttempt,
    Intake,
    UpstreamPlatform,
    UpstreamTransfer,
    Webhook,
    new_secret,
)

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
    try:
        addresses.check_url(url)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
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
    if secret is not None and not secret_valid(secret):
        errors.append(FieldError("secret", secret_message()))
    if errors:
        raise ValidationFailed(errors)
    return Webhook.objects.create(
        api_key=api_key,
        url=url,
        events=list(events or []),
        secret=secret or new_secret(),
        scope=scope,
    )


def secret_valid(secret: str) -> bool:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    if not secret.startswith("whsec_"):
        return False
    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(key) <= 64


def secret_message() -> str:
    return _("whsec_ followed by the base64 of 24 to 64 random bytes (leave empty for a new one).")


def sign_headers(secret: str, msg_id: str, at: dt.datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``: its id, the time of sending and the
    signature ``v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>``. A receiver rejects a
    timestamp more than five minutes away from its clock, so a captured delivery cannot be
    replayed later."""
    utc = at.astimezone(dt.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(utc.timestamp())),
        "webhook-signature": StandardWebhook(secret).sign(msg_id, utc, body.decode("utf-8")),
    }


def may_see(appeal: Appeal) -> bool:
    """Whether a webhook subscriber (an API key) may hear of ``appeal``: what the app would show
    a key. No key ever opens a confidential kind, whatever the webhook's scope (Open311's GET
    hides them from every key too)."""
    return appeal.kind not in CONFIDENTIAL_KINDS


# ----- enqueueing (after commit) ----------------------------------------------------------------


def _payload(event: AppealEvent) -> dict[str, Any]:
    appeal = event.appeal
    data: dict[str, Any] = {
        "number": appeal.number,
        "service_request_id": appeal.number,
        "action": event.action,
        "from_status": event.from_status or None,
        "to_status": event.to_status or None,  # None: an escalation leaves the status as it is
        "open311_status": (
            "closed" if (event.to_status or appeal.status) in TERMINAL_STATUSES else "open"
        ),
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
    if event.action == Action.ESCALATE:
        known = (appeal.submitter_name, appeal.submitter_phone, appeal.submitter_id_number)
        data["escalation"] = {
            "platform": event.payload.get("platform"),
            "reason": mask_text(event.note, known),
            "kind": appeal.kind,
            "urgency": appeal.urgency,
            "title": mask_text(appeal.title, known),
            "content": mask_text(appeal.content, known),
            "address": mask_text(appeal.address, known),
            "received_at": _iso(appeal.received_at),
        }
    transfer = UpstreamTransfer.objects.filter(appeal_id=appeal.pk).select_related("platform")
    sent_down = transfer.first()
    if sent_down is not None:  # the platform's own numbers, to match the answer with its case
        data["upstream"] = {
            "platform": sent_down.platform.code,
            "number": sent_down.upstream_number,
            "unit": sent_down.upstream_unit,
            "deadline": _iso(sent_down.upstream_deadline),
        }
    return data


def delivery_enqueue(appeal: Appeal, event: AppealEvent) -> None:
    """The after-commit hook: one pending delivery per webhook that wants this status change.

    No query for events that change no status (the sweep's alerts, notes); one query for the
    rest when nobody listens.
    """
    if event.action == Action.ESCALATE:
        ids = _escalated_to(event)
    elif event.action not in WEBHOOK_EVENTS or not event.to_status:
        return
    elif may_see(appeal):
        ids = _listening(appeal.pk)
    else:  # a confidential kind: only the platform that sent it down hears its outcome
        ids = _sender_hooks(appeal.pk)
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


def _escalated_to(event: AppealEvent) -> list[int]:
    """The webhook of the platform an escalation names (if it is still active)."""
    return list(
        UpstreamPlatform.objects.filter(
            code=event.payload.get("platform"), active=True, webhook__active=True
        )
        .exclude(webhook=None)
        .values_list("webhook_id", flat=True)
    )


def _sender_hooks(appeal_id: int) -> list[int]:
    """The webhook of the upper-level platform that sent this appeal down, if any."""
    return list(
        UpstreamTransfer.objects.filter(
            appeal_id=appeal_id, platform__webhook__isnull=False
        ).values_list("platform__webhook_id", flat=True)
    )


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


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = addresses.create_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = addresses.create_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_GuardedHTTPSConnection, req)


# No proxies from the environment: the address checked must be the address connected to.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirects, _GuardedHTTPHandler, _GuardedHTTPSHandler
)


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
    found = (
        AppealEvent.objects.filter(pk=delivery.event_id).values_list("appeal_id", "appeal__kind")
    ).first()
    if found is None or (found[1] in CONFIDENTIAL_KINDS and hook.pk not in _sender_hooks(found[0])):
        return _drop(delivery, "not sent: the subscriber may not see this appeal")
    body = body_of(delivery)
    started_at = clock.now()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Kuaiban-Event": delivery.event_type,
        "X-Kuaiban-Attempt": str(delivery.attempts),
        # The wall clock, not the app's (tests and the demo pin that): receivers compare it.
        **sign_headers(hook.secret, delivery.uid, timezone.now(), body),
    }
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
