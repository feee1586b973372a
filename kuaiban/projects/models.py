"""The year's livelihood projects (民生实事): owner unit, target, budget, milestones, progress."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _

from kuaiban.core import uploads
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
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("created by"),
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
    # Why the figure went down; required when it did (services.project_progress).
    reason = models.CharField(_("reason for the lower figure"), max_length=500, blank=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.progress_from}→{self.progress_to}"

    @property
    def lowered(self) -> bool:
        return self.progress_to < self.progress_from


class ProgressPhoto(models.Model):
    """A photo sent with a progress report, checked and re-encoded by kuaiban.core.uploads (no
    EXIF, no GPS position) and stored once per content; public like the report itself."""

    update = models.ForeignKey(ProgressUpdate, on_delete=models.CASCADE, related_name="photos")
    stored_as = models.CharField(max_length=120)
    name = models.CharField(_("file name"), max_length=120)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar = ["update_id", "id"]

    def __str__(self) -> str:
        return f"{self.update_id} {self.name}"

    def response(self) -> FileResponse:
        return uploads.file_response(
            self.stored_as, content_type=self.content_type, filename=self.name
        )
