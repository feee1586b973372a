"""Deadlines as data: the time-limit table, working hours and the calendar's overrides."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kuaiban.appeals.models import Channel, Kind, Urgency

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

STAGES = ("claim", "reply", "visit")
# Clocks only some appeals have (a row sets them or they do not run): the petition's written
# notice of acceptance (受理告知), its review (复查) and re-examination (复核), and the longest
# extension of its handling limit. Unlike STAGES, the catch-all row need not set them.
OPTIONAL_CLOCKS = ("notice", "review", "recheck", "extension")


class LimitUnit(models.TextChoices):
    HOURS = "hours", _("working hours")
    WORKDAYS = "workdays", _("working days")
    DAYS = "days", _("calendar days")


def _amount(verbose: StrOrPromise) -> models.DecimalField[Decimal | None, Decimal | None]:
    return models.DecimalField(
        verbose,
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(999))],
    )


def _unit(verbose: StrOrPromise) -> models.CharField[str, str]:
    return models.CharField(verbose, max_length=8, choices=LimitUnit.choices, blank=True)


class TimeLimit(models.Model):
    """One row of the limits table. Blank channel, kind or urgency means "any".

    For each of the three clocks the most specific row that sets it wins: urgency counts most,
    then channel, then kind (so an emergency on the direct line is answered in hours, not days).
    A row may leave a clock blank to inherit it from a less specific row; the row with all three
    keys blank is the catch-all and sets every clock.
    """

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, blank=True)
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, blank=True)
    claim_amount = _amount(_("claim limit"))
    claim_unit = _unit(_("claim limit unit"))
    reply_amount = _amount(_("reply limit"))
    reply_unit = _unit(_("reply limit unit"))
    visit_amount = _amount(_("return-visit limit"))
    visit_unit = _unit(_("return-visit limit unit"))
    notice_amount = _amount(_("acceptance-notice limit"))
    notice_unit = _unit(_("acceptance-notice limit unit"))
    review_amount = _amount(_("review limit"))
    review_unit = _unit(_("review limit unit"))
    recheck_amount = _amount(_("re-examination limit"))
    recheck_unit = _unit(_("re-examination limit unit"))
    extension_amount = _amount(_("longest extension"))
    extension_unit = _unit(_("longest extension unit"))
    assist_lead = models.PositiveSmallIntegerField(
        _("co-unit parts due this many working days before the reply"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(30)],
        help_text=_("Leaves the lead unit time to consolidate the parts into its reply."),
    )
    basis = models.CharField(
        _("basis"),
        max_length=300,
        blank=True,
        help_text=_("Where the figure comes from (a regulation, a service standard, a decision)."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering: ClassVar = ["urgency", "channel", "kind"]
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["channel", "kind", "urgency"], name="timelimit_unique_key"
            )
        ]

    def __str__(self) -> str:
        parts = [
            str(self.get_urgency_display()) if self.urgency else "",
            str(self.get_channel_display()) if self.channel else "",
            str(self.get_kind_display()) if self.kind else "",
        ]
        return " · ".join(p for p in parts if p) or str(_("Any appeal"))

    @property
    def specificity(self) -> int:
        return 4 * bool(self.urgency) + 2 * bool(self.channel) + bool(self.kind)

    @property
    def is_catch_all(self) -> bool:
        return not (self.channel or self.kind or self.urgency)

    def matches(self, *, channel: str, kind: str, urgency: str) -> bool:
        return (
            (not self.channel or self.channel == channel)
            and (not self.kind or self.kind == kind)
            and (not self.urgency or self.urgency == urgency)
        )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for stage in (*STAGES, *OPTIONAL_CLOCKS):
            amount: Decimal | None = getattr(self, f"{stage}_amount")
            unit: str = getattr(self, f"{stage}_unit")
            if (amount is None) != (not unit):
                errors[f"{stage}_unit"] = str(_("Give both an amount and a unit, or neither."))
            elif amount is not None:
                if unit == LimitUnit.HOURS and amount <= 0:
                    errors[f"{stage}_amount"] = str(_("Working hours must be more than zero."))
                elif unit != LimitUnit.HOURS and amount != amount.to_integral_value():
                    errors[f"{stage}_amount"] = str(_("Days are whole numbers."))
            elif self.is_catch_all and stage in STAGES:
                errors[f"{stage}_amount"] = str(_("The catch-all row must set every limit."))
        if errors:
            raise ValidationError(errors)


class WorkSettings(models.Model):
    """Working hours (Asia/Shanghai) and warning thresholds. One row."""

    morning_start = models.TimeField(_("morning starts"), default=dt.time(8, 30))
    morning_end = models.TimeField(_("morning ends"), default=dt.time(12, 0))
    afternoon_start = models.TimeField(
        _("afternoon starts"), default=dt.time(14, 0), null=True, blank=True
    )
    afternoon_end = models.TimeField(
        _("afternoon ends"), default=dt.time(17, 30), null=True, blank=True
    )
    warn_workdays = models.DecimalField(
        _("yellow this many working days ahead"),
        max_digits=4,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal(0))],
    )
    warn_percent = models.PositiveSmallIntegerField(
        _("or when this share of the time is left (%)"),
        default=25,
        validators=[MaxValueValidator(100)],
        help_text=_("Whichever comes later, so a two-hour limit is not yellow at once."),
    )
    max_extensions = models.PositiveSmallIntegerField(
        _("approved extensions allowed per appeal"), default=2
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("working hours and warnings")
        verbose_name_plural = _("working hours and warnings")

    def __str__(self) -> str:
        return str(_("Working hours and warnings"))

    @property
    def periods(self) -> tuple[tuple[dt.time, dt.time], ...]:
        periods = [(self.morning_start, self.morning_end)]
        if self.afternoon_start and self.afternoon_end:
            periods.append((self.afternoon_start, self.afternoon_end))
        return tuple(periods)

    def clean(self) -> None:
        if (self.afternoon_start is None) != (self.afternoon_end is None):
            raise ValidationError(
                {"afternoon_end": _("Give both ends of the afternoon, or neither.")}
            )
        previous: dt.time | None = None
        for start, end in self.periods:
            if not start < end or (previous is not None and start < previous):
                raise ValidationError(_("Working periods must be in order and must not overlap."))
            previous = end


class CalendarDay(models.Model):
    """An administrator's word on one date, above chinese-calendar's.

    Needed for years the installed package does not know yet (enter the State Council's
    holiday notice when it is published), and for local days off or extra working days.
    """

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering: ClassVar = ["date"]
        verbose_name = _("calendar day")
        # Not the limit unit "calendar days" (自然日): the same English, another meaning.
        verbose_name_plural = pgettext_lazy("calendar overrides", "calendar days")

    def __str__(self) -> str:
        kind = _("working day") if self.is_workday else _("rest day")
        return f"{self.date.isoformat()} {kind}"
