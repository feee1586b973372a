"""Models of the visits domain: the one-time self-rating links sent to submitters."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal


class SelfRatingLink(models.Model):
    """A signed, one-time link the submitter opens on a phone to rate the unit's reply.

    The URL carries ``signing.dumps({"l": pk, "n": nonce})``; ``used_at`` is the used-marker,
    set in the same transaction that records the visit.
    """

    appeal = models.ForeignKey(Appeal, on_delete=models.PROTECT, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        verbose_name = _("self-rating link")
        verbose_name_plural = _("self-rating links")

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.created_at:%Y-%m-%d}"


class DeskSettings(models.Model):
    """How the visit desk treats self-rating links. One row, edited in the admin."""

    self_rating_wait_hours = models.PositiveSmallIntegerField(
        _("hours to wait for a self-rating before calling"),
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 7)],
        help_text=_(
            "After the rating link is sent, the appeal leaves the call queue for this long; "
            "if the submitter has not rated by then, the desk calls."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("visit desk settings")
        verbose_name_plural = _("visit desk settings")

    def __str__(self) -> str:
        return str(_("Visit desk settings"))

    @classmethod
    def current(cls) -> DeskSettings:
        return cls.objects.order_by("pk").first() or cls()
