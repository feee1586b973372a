"""Spike alerts (未诉先办): a category in a township far above its recent daily baseline.

One row per (category, township, day), written by the sweep when it first sees the spike: the
"already warned" marker, and the appeals that made it (the notices link to it).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal, Category
from kuaiban.org.models import Region, Unit


class Spike(models.Model):
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="+", verbose_name=_("category")
    )
    township = models.ForeignKey(
        Region, on_delete=models.CASCADE, related_name="+", verbose_name=_("township")
    )
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("appeals that day"))
    baseline = models.DecimalField(
        _("daily mean of the previous 28 days"), max_digits=9, decimal_places=2
    )
    threshold = models.DecimalField(_("threshold"), max_digits=9, decimal_places=2)
    lead_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("lead unit"),
    )
    detected_at = models.DateTimeField(_("detected at"))
    appeals = models.ManyToManyField(Appeal, related_name="+", verbose_name=_("appeals"))

    class Meta:
        ordering: ClassVar = ["-day", "-id"]
        verbose_name = _("spike alert")
        verbose_name_plural = _("spike alerts")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["category", "township", "day"], name="spike_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category_id}/{self.township_id} {self.count}"
