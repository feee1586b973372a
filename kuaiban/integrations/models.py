"""Integrating systems: their API keys, rate windows, idempotency records, intakes and webhooks.

An integrating system (the hotline's call-centre software, the WeChat bot, the mobile app, the grid
handsets) holds one :class:`ApiKey`, bound to the channel its appeals come in by. Only the SHA-256
of the key is stored. Outbound :class:`Webhook` s belong to a key; every status change of an
appeal the key cares about becomes one :class:`Delivery` row, sent by the ``kuaiban webhooks``
worker and logged attempt by attempt in :class:`DeliveryAttempt`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import ClassVar

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import STATUS_ACTIONS, Appeal, AppealEvent, Channel

KEY_PREFIX = "kbk_"
NAME_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{1,62}$",
    _("Lower-case letters, digits, '-' and '_' (2 to 63 characters)."),
)


class ApiKey(models.Model):
    """One integrating system's key. The key itself is shown once; only its digest is kept."""

    class Mode(models.TextChoices):
        REALTIME = "realtime", _("Realtime: answer with the tracking number")
        BATCH = "batch", _("Batch: answer with a token")

    name = models.CharField(_("name"), max_length=63, unique=True, validators=[NAME_VALIDATOR])
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.OPEN311
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    prefix = models.CharField(_("key prefix"), max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        default=600,
        help_text=_("Requests above this in one minute are refused with 429 and Retry-After."),
    )
    public = models.BooleanField(
        _("public requests"),
        default=True,
        help_text=_(
            "Requests from this key appear in public Open311 GET answers (without personal "
            "data). Untick for channels such as the hotline: then only this key sees them."
        ),
    )
    mode = models.CharField(
        _("Open311 answer"), max_length=16, choices=Mode.choices, default=Mode.REALTIME
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope(self) -> str:
        """The idempotency and rate-limit scope of this key."""
        return f"apikey:{self.pk}"

    @staticmethod
    def new_key() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class RateWindow(models.Model):
    """Hits of one bucket (a key or a client address) in one fixed one-minute window.

    Incremented with a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` so every web process
    counts into the same row.
    """

    bucket = models.CharField(max_length=80)
    minute = models.BigIntegerField(help_text="Minutes since the epoch")
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["bucket", "minute"], name="ratewindow_bucket_minute")
        ]

    def __str__(self) -> str:
        return f"{self.bucket}@{self.minute}: {self.hits}"


class IdempotencyKey(models.Model):
    """The first appeal registered under an ``Idempotency-Key`` within a scope (key or user).

    Inserted in the same transaction as the appeal; the unique constraint makes a concurrent
    second request wait for the first and then answer with its appeal.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical request")
    appeal = models.ForeignKey(Appeal, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")
        ]
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class Intake(models.Model):
    """Which key brought an appeal in (the appeals a key's webhooks follow by default)."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="intake")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="intakes")
    source = models.CharField(max_length=16, default="open311")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("intake")
        verbose_name_plural = _("intakes")

    def __str__(self) -> str:
        return f"{self.api_key} → {self.appeal}"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


# Actions whose event changes an appeal's status: the events a webhook can subscribe to.
WEBHOOK_EVENTS = STATUS_ACTIONS


class Webhook(models.Model):
    class Scope(models.TextChoices):
        OWN = "own", _("Appeals this key brought in")
        CHANNEL = "channel", _("Every appeal of the key's channel")

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=new_secret,
        help_text=_(
            "Deliveries are signed as Standard Webhooks specifies (webhook-id, webhook-timestamp, "
            "webhook-signature); the secret is whsec_ and base64."
        ),
    )
    events = models.JSONField(
        _("events"),
        default=list,
        blank=True,
        help_text=_(
            'Actions to deliver, e.g. ["dispatch", "reply", "close"]; empty means every '
            "status change."
        ),
    )
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.OWN)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["api_key", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return f"{self.api_key}: {self.url}"

    def wants(self, action: str) -> bool:
        return not self.events or action in self.events


class Delivery(models.Model):
    """One event to send to one webhook; the worker's to-do list and its log."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    uid = models.CharField(max_length=36, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(AppealEvent, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last HTTP status"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["webhook", "event"], name="delivery_webhook_event")
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.webhook.url}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        ordering: ClassVar = ["delivery_id", "id"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# What an upper-level platform hears of the appeals it sent down (and of those escalated to it):
# the unit's answer, a return, the end of the appeal.
UPSTREAM_EVENTS = ("reply", "answer", "return", "close", "merge", "invalidate", "escalate")


class UpstreamPlatform(models.Model):
    """An upper-level 12345 platform (the city's or the province's) that sends appeals down
    (上级转办) and hears back through its adapter.

    Both directions are signed as Standard Webhooks specifies, with the one shared ``secret``:
    the platform signs what it pushes to ``POST /api/v1/upstream/<code>/appeals``, Kuaiban signs
    what it sends to ``adapter_url``. Saving a platform (admin or ``kuaiban upstream``) keeps its
    API key (the appeals it brought in) and its webhook (the sending) in step.
    """

    code = models.CharField(_("code"), max_length=63, unique=True, validators=[NAME_VALIDATOR])
    name = models.CharField(_("name"), max_length=100, help_text=_("For example 市12345"))
    adapter_url = models.URLField(_("adapter URL"), max_length=500)
    secret = models.CharField(
        _("shared secret"),
        max_length=100,
        default=new_secret,
        help_text=_("whsec_ and base64: signs what the platform pushes and what it is sent."),
    )
    active = models.BooleanField(_("active"), default=True)
    api_key = models.OneToOneField(
        ApiKey, null=True, on_delete=models.PROTECT, editable=False, related_name="platform"
    )
    webhook = models.OneToOneField(
        Webhook, null=True, on_delete=models.SET_NULL, editable=False, related_name="platform"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("upstream platform")
        verbose_name_plural = _("upstream platforms")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class UpstreamTransfer(models.Model):
    """An appeal an upper-level platform sent down, with that platform's number, unit and
    deadline. One per (platform, upstream number): pushing it again finds this appeal."""

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="upstream")
    platform = models.ForeignKey(
        UpstreamPlatform, on_delete=models.PROTECT, related_name="transfers"
    )
    upstream_number = models.CharField(_("upstream number"), max_length=64)
    upstream_unit = models.CharField(_("upstream unit"), max_length=100)
    upstream_deadline = models.DateTimeField(_("upstream deadline"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-received_at"]
        verbose_name = _("upstream transfer")
        verbose_name_plural = _("upstream transfers")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["platform", "upstream_number"], name="upstream_platform_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform.code} {self.upstream_number} → {self.appeal}"
