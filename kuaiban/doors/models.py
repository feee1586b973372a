"""敲门行动: the quarter's focus lists, the households of each grid, and the visits at the door.

A township or village publishes one focus list a quarter (what to ask households about); a grid
worker records each household visit in its grid; each problem raised becomes an appeal with
channel ``visit``, linked to the visit (``DoorVisit.appeals``). The household count a grid's
coverage is measured against lives on ``GridHouseholds`` (one row per grid, kept by an
administrator; docs/metrics.md, "Door-visit coverage").
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal
from kuaiban.org.models import Unit, User


class FocusList(models.Model):
    """One township's or village's focus list for one quarter (``2026-Q4``): a few topics."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="focus_lists", verbose_name=_("unit")
    )
    quarter = models.CharField(_("quarter"), max_length=7)
    topics = models.JSONField(_("topics"), default=list, help_text=_("What to ask, in order."))
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("published by")
    )
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("focus list")
        verbose_name_plural = _("focus lists")
        ordering: ClassVar = ["-quarter", "unit__code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["unit", "quarter"], name="doors_one_list_per_quarter")
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.quarter}"


class GridHouseholds(models.Model):
    """How many households a grid has: the denominator of its door-visit coverage."""

    grid = models.OneToOneField(
        Unit,
        on_delete=models.CASCADE,
        related_name="households",
        verbose_name=_("grid"),
        limit_choices_to={"kind": Unit.Kind.GRID},
    )
    households = models.PositiveIntegerField(_("households"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("households of a grid")
        verbose_name_plural = _("households of the grids")

    def __str__(self) -> str:
        return f"{self.grid}: {self.households}"


class DoorVisit(models.Model):
    """A grid worker at one household's door: who was met and what was raised, or nobody home.

    ``household`` is the address folded (NFKC, simplified, lower case, no spaces): the same
    household visited twice in a quarter counts once."""

    grid = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="door_visits", verbose_name=_("grid")
    )
    quarter = models.CharField(_("quarter"), max_length=7)
    visited_at = models.DateTimeField(_("visited at"))
    visited_by = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("visited by")
    )
    address = models.CharField(_("address"), max_length=200)
    household = models.CharField(max_length=200)
    nobody_home = models.BooleanField(_("nobody home"), default=False)
    met = models.CharField(_("who was met"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    raised = models.TextField(_("what was raised"), blank=True)
    # [{"unit": code, "topic": text, "answer": text}]: the focus topics answered, as asked.
    answers = models.JSONField(_("answers"), default=list, blank=True)
    appeals = models.ManyToManyField(
        Appeal, related_name="door_visits", blank=True, verbose_name=_("appeals")
    )

    class Meta:
        verbose_name = _("door visit")
        verbose_name_plural = _("door visits")
        ordering: ClassVar = ["-visited_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["quarter", "grid", "household"], name="doors_visit_quarter_grid")
        ]

    def __str__(self) -> str:
        return f"{self.grid} {self.address}"
