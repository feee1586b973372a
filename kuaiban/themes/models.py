"""每月一题: a frequent problem given to a lead unit to fix at its root, and the appeals linked
to it (docs/themes.md)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal, Category
from kuaiban.org.models import Region, Unit


class Theme(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Being tackled")
        CLOSED = "closed", _("Concluded")

    class Source(models.TextChoices):
        HOT = "hot", _("Hot issue")
        QUERY = "query", _("Search")

    title = models.CharField(_("title"), max_length=200)
    lead_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="led_themes", verbose_name=_("lead unit")
    )
    co_units = models.ManyToManyField(
        Unit, blank=True, related_name="co_themes", verbose_name=_("co-units")
    )
    target_pct = models.PositiveSmallIntegerField(_("target reduction (%)"))
    months = models.PositiveSmallIntegerField(_("months"))
    start = models.DateField(_("first month"))  # the first day of the theme's first month
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    query = models.CharField(_("search"), max_length=200, blank=True)
    hot_label = models.CharField(_("hot issue"), max_length=200, blank=True)
    hot_from = models.DateField(null=True, blank=True)
    hot_to = models.DateField(null=True, blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("category")
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("township")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    measure = models.TextField(_("root-cause measure"), blank=True)

    class Meta:
        ordering: ClassVar = ["-start", "-id"]
        verbose_name = _("monthly theme")
        verbose_name_plural = _("monthly themes")
        indexes: ClassVar = [models.Index(fields=["status", "start"], name="theme_status_start")]

    def __str__(self) -> str:
        return self.title


class ThemeLink(models.Model):
    """One appeal counted in a theme's volume (unless rejected)."""

    class Source(models.TextChoices):
        HOT = "hot", _("Hot issue member")
        QUERY = "query", _("Search match")
        SIMILAR = "similar", _("Similar to a member")
        AUTO = "auto", _("Matched on arrival")

    class State(models.TextChoices):
        PENDING = "pending", _("Not reviewed")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="links")
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="theme_links")
    source = models.CharField(max_length=8, choices=Source.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    score = models.FloatField(null=True, blank=True)
    linked_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["theme", "appeal"], name="theme_link_once")
        ]
        indexes: ClassVar = [models.Index(fields=["theme", "state"], name="theme_link_state")]

    def __str__(self) -> str:
        return f"{self.theme_id}:{self.appeal_id}"


class ThemeReport(models.Model):
    """A progress report of the lead unit."""

    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="reports")
    on = models.DateField(_("date"))
    text = models.TextField(_("progress"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering: ClassVar = ["-on", "-id"]

    def __str__(self) -> str:
        return f"{self.on:%Y-%m-%d}"
