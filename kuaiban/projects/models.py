"""The year's livelihood projects (民生实事): owner unit, target, budget, milestones, progress."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.org.models import Unit


class Project(models.Model):
    year = models.PositiveSmallIntegerField(_("year"))
    seq = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=200)
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="projects", verbose_name=_("owner unit")
    )
    target = models.TextField(_("target"))
    budget = models.DecimalField(
        _("budget (10,000 yuan)"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    status_note = models.CharField(_("latest note"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    progress_at = models.DateTimeField(_("progress updated at"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-year", "seq"]
        verbose_name = _("livelihood project")
        verbose_name_plural = _("livelihood projects")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["year", "seq"], name="project_year_seq"),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="progress_le_100"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.seq:02d} {self.name}"


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("milestone"), max_length=200)
    due = models.DateField(_("due"))
    done_on = models.DateField(_("done on"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["project_id", "due", "id"]

    def __str__(self) -> str:
        return self.title


class ProgressUpdate(models.Model):
    """One change of a project's progress, by the owner unit: what the public page shows."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    progress_from = models.PositiveSmallIntegerField()
    progress_to = models.PositiveSmallIntegerField()
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.progress_from}→{self.progress_to}"
