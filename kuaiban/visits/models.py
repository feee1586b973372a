"""Models of the visits domain: the one-time self-rating links sent to submitters."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
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
