"""Models of the notify domain: SMS templates, the SMS delivery log, and one-time phone codes."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal


class SmsTemplate(models.Model):
    """The text of one kind of SMS, edited by an administrator (短信模板).

    ``text`` takes ``{name}`` placeholders (``{number}``, ``{access_code}``, ``{unit}``,
    ``{reply}``, ``{url}``, ``{code}``, ``{status}``) or Django template syntax
    (``{{ number }}``, ``{% if unit %}``). The cloud services only send texts they approved
    beforehand: ``provider_template`` names that approved template (阿里云 ``SMS_…``, 腾讯云's
    numeric id) and ``provider_params`` the placeholders it takes, in order.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    text = models.TextField(_("text"), max_length=500)
    urgent = models.BooleanField(
        _("urgent"),
        default=False,
        help_text=_("Sent during quiet hours too (verification codes always are)."),
    )
    provider_template = models.CharField(
        _("cloud template id"),
        max_length=64,
        blank=True,
        help_text=_("The id of the approved template at the SMS service, e.g. SMS_123456789."),
    )
    provider_params = models.CharField(
        _("cloud template parameters"),
        max_length=200,
        blank=True,
        help_text=_(
            "The placeholders the approved template takes, comma-separated and in order, e.g. "
            "number,access_code. Empty: those of the text above, in the order they appear."
        ),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive: messages of this kind are not sent.")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class SmsMessage(models.Model):
    """One SMS: the delivery log and the worker's to-do list at once."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent (template inactive)")

    to = models.CharField(_("to"), max_length=20)
    text = models.TextField(_("text"))
    template = models.CharField(_("template"), max_length=40)
    # What the template was rendered with (strings), for the cloud services' approved templates.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    provider_id = models.CharField(_("id at the SMS service"), max_length=100, blank=True)
    appeal = models.ForeignKey(
        Appeal,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("appeal"),
    )
    created_at = models.DateTimeField(_("created at"))
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        indexes: ClassVar = [
            models.Index(fields=["status", "next_attempt_at"], name="sms_due"),
            models.Index(fields=["appeal", "template"], name="sms_appeal"),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.to[:3]}****{self.to[-4:]}"


class PhoneCode(models.Model):
    """A one-time verification code sent to a phone: only its keyed hash is stored."""

    phone = models.CharField(_("phone"), max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    wrong_attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    # Set when the code is used, superseded by a newer one, or burned by wrong guesses.
    spent_at = models.DateTimeField(_("spent at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("phone verification code")
        verbose_name_plural = _("phone verification codes")
        indexes: ClassVar = [models.Index(fields=["phone", "created_at"], name="phonecode_phone")]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"
