"""Supervision: extension requests, supervision orders (督办单) with their timeline, and
notifications."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal
from kuaiban.org.models import Unit


class Extension(models.Model):
    """A unit's request for more time on an appeal's reply deadline (延期申请)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="extensions")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"))
    reason = models.TextField(_("reason"))
    current_due = models.DateTimeField(_("deadline when asked"))
    proposed_due = models.DateTimeField(_("proposed deadline"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    granted_due = models.DateTimeField(_("granted deadline"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-requested_at", "-id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["appeal"],
                condition=models.Q(status="pending"),
                name="extension_one_pending",
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "-requested_at"], name="extension_status"),
            models.Index(fields=["unit", "-requested_at"], name="extension_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal} → {self.proposed_due:%Y-%m-%d}"


class OrderLevel(models.TextChoices):
    YELLOW = "yellow", _("Yellow card")
    RED = "red", _("Red card")


class SupervisionOrder(models.Model):
    """A supervisor's written push (督办单) on an appeal or a unit, with its own deadline."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting answer")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("number"), max_length=32, unique=True, null=True)
    appeal = models.ForeignKey(
        Appeal,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervision_orders",
        verbose_name=_("appeal"),
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="supervision_orders", verbose_name=_("unit")
    )
    level = models.CharField(_("level"), max_length=8, choices=OrderLevel.choices)
    text = models.TextField(_("text"))
    due_at = models.DateTimeField(_("answer by"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("issued at"))
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Set once by the sweep when the order passes its deadline unanswered ("already warned").
    overdue_at = models.DateTimeField(_("overdue since"), null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering: ClassVar = ["-issued_at", "-id"]
        verbose_name = _("supervision order")
        verbose_name_plural = _("supervision orders")
        indexes: ClassVar = [
            models.Index(fields=["status", "due_at"], name="order_status_due"),
            models.Index(fields=["unit", "status"], name="order_unit_status"),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class OrderEvent(models.Model):
    """One line of a supervision order's own timeline."""

    class Action(models.TextChoices):
        ISSUE = "issue", _("Issued")
        ANSWER = "answer", _("Answered")
        CLOSE = "close", _("Closed")
        REOPEN = "reopen", _("Answer sent back")
        OVERDUE = "overdue", _("Overdue")

    order = models.ForeignKey(SupervisionOrder, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    actor_label = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    note = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["order_id", "seq"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["order", "seq"], name="order_event_seq")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}#{self.seq} {self.action}"


class Notification(models.Model):
    """An in-app notice to one person; also mailed if they have an e-mail address.

    ``key`` makes each notice idempotent: the same warning is never stored twice for a person,
    however many sweepers run.
    """

    class Kind(models.TextChoices):
        ALERT_YELLOW = "alert_yellow", _("Deadline near")
        ALERT_RED = "alert_red", _("Overdue")
        EXTENSION_REQUESTED = "extension_requested", _("Extension requested")
        EXTENSION_APPROVED = "extension_approved", _("Extension approved")
        EXTENSION_REFUSED = "extension_refused", _("Extension refused")
        ORDER_ISSUED = "order_issued", _("Supervision order issued")
        ORDER_ANSWERED = "order_answered", _("Supervision order answered")
        ORDER_CLOSED = "order_closed", _("Supervision order closed")
        ORDER_REOPENED = "order_reopened", _("Supervision order answer sent back")
        ORDER_OVERDUE = "order_overdue", _("Supervision order overdue")
        ARBITRATION = "arbitration", _("Dispatch to arbitrate")
        DISPATCHED = "dispatched", _("Dispatched to your unit")
        ARBITRATED = "arbitrated", _("Arbitrated to your unit")
        CO_HANDLE = "co_handle", _("Co-handling asked of your unit")
        REWORK = "rework", _("Sent back for rework")
        CALENDAR_UNKNOWN = "calendar_unknown", _("Holiday calendar missing")
        SPIKE = "spike", _("Spike of appeals")

    class Mail(models.TextChoices):
        SKIP = "skip", _("No e-mail address")
        PENDING = "pending", _("To send")
        SENT = "sent", _("Sent")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=200, blank=True)
    appeal = models.ForeignKey(
        Appeal, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    order = models.ForeignKey(
        SupervisionOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=160)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    mail = models.CharField(max_length=8, choices=Mail.choices, default=Mail.SKIP)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once")
        ]
        indexes: ClassVar = [
            models.Index(fields=["recipient", "-id"], name="notification_inbox"),
            models.Index(
                fields=["id"], condition=models.Q(mail="pending"), name="notification_to_mail"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} {self.kind}"
