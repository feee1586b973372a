"""Models of the metrics domain: the scoring scheme, the per-appeal fact table, imports.

``AppealFact`` is derived data: one row per (appeal, unit that ever held it), rebuilt from the
appeal and its events by :mod:`kuaiban.metrics.facts`. Every rate is a sum over these rows, so a
month of a million-appeal ledger is read from one narrow table instead of eight million events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Appeal, Category
from kuaiban.org.models import Region, Unit

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class ResponseMetric(models.TextChoices):
    ON_TIME_CLAIM = "on_time_claim_rate", _("On-time claim rate")
    ON_TIME_REPLY = "on_time_reply_rate", _("On-time reply rate")
    CLOSURE = "closure_rate", _("Closure rate")


def _weight(label: StrOrPromise, default: int) -> models.DecimalField:
    return models.DecimalField(
        label,
        max_digits=5,
        decimal_places=2,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )


def _band(label: StrOrPromise, default: int) -> models.DecimalField:
    return models.DecimalField(
        label,
        max_digits=5,
        decimal_places=2,
        default=Decimal(default),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )


class _Scheme(models.Model):
    """What the two scoring schemes share: weights that must not all be zero, four star bands
    falling from five stars to two, and one row (or the defaults) in force."""

    WEIGHTS: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    def clean(self) -> None:
        if sum(getattr(self, name) for name in self.WEIGHTS) <= 0:
            raise ValidationError(_("At least one weight must be above zero."))
        bands = [getattr(self, f"star{n}_min") for n in (5, 4, 3, 2)]
        if bands != sorted(bands, reverse=True):
            raise ValidationError(_("Star bands must fall from five stars to two."))

    @classmethod
    def current(cls) -> Self:
        scheme = cls._default_manager.order_by("pk").first()
        return scheme if scheme is not None else cls()


class ScoreScheme(_Scheme):
    """The composite score's weights and star bands, set by an administrator (one row)."""

    response_metric = models.CharField(
        _("response rate"),
        max_length=32,
        choices=ResponseMetric.choices,
        default=ResponseMetric.ON_TIME_CLAIM,
        help_text=_("Which rate stands for 'response' in the three rates."),
    )
    response_weight = _weight(_("response weight (%)"), 30)
    resolution_weight = _weight(_("resolution weight (%)"), 35)
    satisfaction_weight = _weight(_("satisfaction weight (%)"), 35)
    star5_min = _band(_("five stars from (points)"), 95)
    star4_min = _band(_("four stars from (points)"), 90)
    star3_min = _band(_("three stars from (points)"), 85)
    star2_min = _band(_("two stars from (points)"), 80)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("scoring scheme")
        verbose_name_plural = _("scoring scheme")

    def __str__(self) -> str:
        return str(_("Scoring scheme"))

    WEIGHTS = ("response_weight", "resolution_weight", "satisfaction_weight")


class Scoring(models.TextChoices):
    UNIT = "unit", _("Composite score of the scoring scheme")
    VILLAGE = "village", _("Village score (星级村)")


class Tier(models.Model):
    """An assessment tier (考核层级): units ranked against each other and nobody else.

    Membership rule: a tier that lists members ranks exactly those (the active ones); a tier
    with no members listed ranks every active unit of its ``kind``. A tier with neither ranks
    nobody.
    """

    slug = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("unit kind"),
        max_length=16,
        choices=Unit.Kind.choices,
        blank=True,
        help_text=_("With no members listed: every active unit of this kind is a member."),
    )
    members = models.ManyToManyField(
        Unit,
        blank=True,
        related_name="+",
        verbose_name=_("members"),
        help_text=_("When listed, exactly these units are ranked (the kind is then ignored)."),
    )
    scoring = models.CharField(
        _("scoring"), max_length=16, choices=Scoring.choices, default=Scoring.UNIT
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering: ClassVar = ["position", "slug"]
        verbose_name = _("assessment tier")
        verbose_name_plural = _("assessment tiers")

    def __str__(self) -> str:
        return self.name


class VillageScheme(_Scheme):
    """The village score's weights and its five star bands (星级村), set by an administrator."""

    closure_weight = _weight(_("closure weight (%)"), 20)
    on_time_weight = _weight(_("on-time reply weight (%)"), 20)
    satisfaction_weight = _weight(_("satisfaction weight (%)"), 30)
    authenticity_weight = _weight(_("authenticity weight (%)"), 10)
    on_spot_weight = _weight(_("on-the-spot resolution weight (%)"), 20)
    star5_min = _band(_("five stars from (points)"), 90)
    star4_min = _band(_("four stars from (points)"), 80)
    star3_min = _band(_("three stars from (points)"), 70)
    star2_min = _band(_("two stars from (points)"), 60)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("village scoring scheme")
        verbose_name_plural = _("village scoring scheme")

    def __str__(self) -> str:
        return str(_("Village scoring scheme"))

    WEIGHTS = (
        "closure_weight",
        "on_time_weight",
        "satisfaction_weight",
        "authenticity_weight",
        "on_spot_weight",
    )


class AppealFact(models.Model):
    """What one appeal contributes to the rates, for one unit that held it.

    Dispatch counters (dispatches, on-time claims, returns) sit on the row of the unit that was
    dispatched to. Appeal-level counters (received, closed, replied, visit results …) sit on one
    row only, the ``lead`` row of the appeal's current lead unit (or of no unit). Merged and
    invalid appeals have no rows.
    """

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, null=True, on_delete=models.CASCADE, related_name="+")
    lead = models.BooleanField(default=False)
    seq = models.PositiveIntegerField(default=0, help_text="event_count the row was built from")
    # dimensions (copied from the appeal)
    day = models.DateField()
    channel = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    category = models.ForeignKey(Category, null=True, on_delete=models.CASCADE, related_name="+")
    category_top = models.ForeignKey(
        Category, null=True, on_delete=models.CASCADE, related_name="+"
    )
    region = models.ForeignKey(Region, null=True, on_delete=models.CASCADE, related_name="+")
    township = models.ForeignKey(Region, null=True, on_delete=models.CASCADE, related_name="+")
    # per dispatch to this unit
    dispatches = models.PositiveSmallIntegerField(default=0)
    claimed_on_time = models.PositiveSmallIntegerField(default=0)
    returns = models.PositiveSmallIntegerField(default=0)
    # per appeal (lead row only)
    received = models.PositiveSmallIntegerField(default=0)
    closed = models.PositiveSmallIntegerField(default=0)
    replied = models.PositiveSmallIntegerField(default=0)
    replied_on_time = models.PositiveSmallIntegerField(default=0)
    reply_due_open = models.DateTimeField(
        null=True, help_text="the (extended) reply deadline of a not-yet-replied appeal"
    )
    extensions = models.PositiveSmallIntegerField(default=0)
    reworked = models.PositiveSmallIntegerField(default=0)
    visited = models.PositiveSmallIntegerField(default=0)
    rated = models.PositiveSmallIntegerField(default=0)
    satisfied = models.PositiveSmallIntegerField(default=0)
    resolved = models.PositiveSmallIntegerField(default=0)
    authentic = models.PositiveSmallIntegerField(default=0)
    # replied by a grid worker on the spot (就地解决), counted apart from other replies
    on_spot = models.PositiveSmallIntegerField(default=0)
    # open and flagged red (overdue) by the deadline sweep, now; with the deadline it missed
    overdue = models.PositiveSmallIntegerField(default=0)
    # The unit's co-unit part (协办) of the appeal, on that unit's row: answered, answered by its
    # due, or the due of a part still unanswered (past it, the part counts as due, not on time).
    parts_answered = models.PositiveSmallIntegerField(default=0)
    parts_answered_on_time = models.PositiveSmallIntegerField(default=0)
    part_due_open = models.DateTimeField(null=True)
    due = models.DateTimeField(null=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["day", "unit"], name="fact_day_unit"),
            models.Index(fields=["appeal"], name="fact_appeal"),
            models.Index(
                fields=["due", "appeal"], name="fact_overdue", condition=models.Q(overdue=1)
            ),
            # counts of what is overdue now, by an index-only scan
            models.Index(
                fields=["kind", "unit", "channel"],
                name="fact_overdue_count",
                condition=models.Q(overdue=1),
            ),
        ]

    def __str__(self) -> str:
        return f"fact {self.appeal_id}/{self.unit_id}"


class FactDirty(models.Model):
    """An appeal whose facts must be rebuilt: written in the same transaction as its event."""

    appeal_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"dirty {self.appeal_id}"


class FactState(models.Model):
    """One row; locked while facts are being rebuilt so two refreshers never interleave."""

    refreshed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"facts refreshed {self.refreshed_at}"


class ImportBatch(models.Model):
    """One upload or command run of a historical ledger file."""

    class State(models.TextChoices):
        CHECKED = "checked", _("Checked (dry run)")
        QUEUED = "queued", _("Importing in the background")
        IMPORTED = "imported", _("Imported")
        FAILED = "failed", _("Import failed")

    file_name = models.CharField(_("file"), max_length=200)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField(editable=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.CHECKED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True)
    # The background import (a Django task, kuaiban.metrics.tasks) and why it failed, if it did.
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d})"


class ImportedAppeal(models.Model):
    """Import key → the appeal it created; re-importing the same row finds it here."""

    key = models.CharField(max_length=80, unique=True)
    appeal = models.OneToOneField(Appeal, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(ImportBatch, null=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return self.key
