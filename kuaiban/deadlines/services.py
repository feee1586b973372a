"""Concrete deadlines for an appeal, from the time-limit table and the working calendar.

Everything here reads the administrators' data (:class:`TimeLimit`, :class:`WorkSettings`,
:class:`CalendarDay`); the arithmetic itself lives in :mod:`kuaiban.deadlines.calendar`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings as django_settings
from django.utils.translation import gettext as _

from kuaiban.core.errors import ValidationFailed
from kuaiban.deadlines.calendar import SHANGHAI, WorkCalendar, unknown_years
from kuaiban.deadlines.defaults import shipped_rows
from kuaiban.deadlines.models import (
    OPTIONAL_CLOCKS,
    STAGES,
    CalendarDay,
    LimitUnit,
    TimeLimit,
    WorkSettings,
)

if TYPE_CHECKING:
    from kuaiban.appeals.models import Appeal


@dataclass(frozen=True)
class Limit:
    amount: float
    unit: str  # "hours" (working hours), "workdays" or "days" (calendar days)

    def apply(self, cal: WorkCalendar, start: dt.datetime) -> dt.datetime:
        if self.unit == LimitUnit.HOURS:
            return cal.add_working_hours(start, self.amount)
        if self.unit == LimitUnit.WORKDAYS:
            return cal.add_working_days(start, int(self.amount))
        if self.unit == LimitUnit.DAYS:
            return cal.add_calendar_days(start, int(self.amount))
        raise ValueError(f"unknown limit unit {self.unit!r}")

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {LimitUnit(self.unit).label}"


@dataclass(frozen=True)
class Limits:
    claim: Limit
    reply: Limit
    visit: Limit

    def of(self, stage: str) -> Limit:
        limit: Limit = getattr(self, stage)
        return limit


# Only used if an administrator deleted the catch-all row of the table (the data migration ships
# one; an empty table means the shipped rows): claim by the end of the same working day, reply in
# 10 and visit in 3 working days.
# Only if no row sets ``assist_lead`` (the catch-all ships 1).
ASSIST_LEAD_WORKDAYS = 1

FALLBACK = Limits(
    claim=Limit(0, LimitUnit.WORKDAYS),
    reply=Limit(10, LimitUnit.WORKDAYS),
    visit=Limit(3, LimitUnit.WORKDAYS),
)


def work_settings() -> WorkSettings:
    return WorkSettings.objects.order_by("pk").first() or WorkSettings()


def work_calendar(settings: WorkSettings | None = None) -> WorkCalendar:
    settings = settings or work_settings()
    overrides = dict(CalendarDay.objects.values_list("date", "is_workday"))
    return WorkCalendar(hours=settings.periods, overrides=overrides)


def _rows(channel: str, kind: str, urgency: str) -> list[TimeLimit]:
    """The rows that match an appeal, most specific first."""
    table = list(TimeLimit.objects.all()) or shipped_rows()  # empty: the shipped defaults
    return sorted(
        (r for r in table if r.matches(channel=channel, kind=kind, urgency=urgency)),
        key=lambda r: r.specificity,
        reverse=True,
    )


def _first(rows: list[TimeLimit], clock: str) -> Limit | None:
    for row in rows:
        amount: Decimal | None = getattr(row, f"{clock}_amount")
        unit: str = getattr(row, f"{clock}_unit")
        if amount is not None and unit:
            return Limit(float(amount), unit)
    return None


def limits_for(*, channel: str, kind: str, urgency: str) -> Limits:
    """The three limits for an appeal: per clock, the most specific row that sets it."""
    rows = _rows(channel, kind, urgency)
    return Limits(**{stage: _first(rows, stage) or FALLBACK.of(stage) for stage in STAGES})


def optional_limit(*, clock: str, channel: str, kind: str = "", urgency: str = "") -> Limit | None:
    """One of the clocks only some appeals have (a petition's notice, review, re-examination
    and longest extension): the most specific row that sets it, or None (the clock never runs)."""
    if clock not in OPTIONAL_CLOCKS:
        raise ValueError(f"unknown optional clock {clock!r}")
    return _first(_rows(channel, kind, urgency), clock)


def optional_due(
    *, clock: str, start: dt.datetime, channel: str, kind: str = "", urgency: str = ""
) -> dt.datetime | None:
    limit = optional_limit(clock=clock, channel=channel, kind=kind, urgency=urgency)
    return limit.apply(work_calendar(), start) if limit else None


def assist_lead(*, channel: str = "", kind: str = "", urgency: str = "") -> int:
    """How many working days before the lead's reply deadline a co-unit's part is due: the
    most specific row that sets ``assist_lead`` (the catch-all ships 1)."""
    for row in _rows(channel, kind, urgency):
        if row.assist_lead is not None:
            return row.assist_lead
    return ASSIST_LEAD_WORKDAYS


def ensure_defaults() -> None:
    """Write the shipped limits and settings if their tables are empty."""
    if not TimeLimit.objects.exists():
        TimeLimit.objects.bulk_create(shipped_rows())
    if not WorkSettings.objects.exists():
        WorkSettings.objects.create()


def _limits(channel: str, kind: str, urgency: str) -> Limits:
    return limits_for(channel=channel, kind=kind, urgency=urgency)


def claim_due(
    *, start: dt.datetime, channel: str = "", kind: str = "", urgency: str = ""
) -> dt.datetime:
    return _limits(channel, kind, urgency).claim.apply(work_calendar(), start)


def reply_due(*, channel: str, kind: str, urgency: str, start: dt.datetime) -> dt.datetime:
    return _limits(channel, kind, urgency).reply.apply(work_calendar(), start)


def visit_due(
    *, start: dt.datetime, channel: str = "", kind: str = "", urgency: str = ""
) -> dt.datetime:
    return _limits(channel, kind, urgency).visit.apply(work_calendar(), start)


def warn_at(
    *,
    start: dt.datetime,
    due: dt.datetime,
    cal: WorkCalendar | None = None,
    settings: WorkSettings | None = None,
) -> dt.datetime:
    """When the clock from ``start`` to ``due`` turns yellow, per the warning settings."""
    settings = settings or work_settings()
    cal = cal or work_calendar(settings)
    return cal.warn_moment(
        start,
        due,
        lead_days=float(settings.warn_workdays),
        lead_fraction=settings.warn_percent / 100,
    )


def schedule(appeal: Appeal, *stages: str, start: dt.datetime) -> None:
    """Start the given clocks of ``appeal`` at ``start``: set ``<stage>_due`` and
    ``<stage>_warn_at`` from the limits table. The caller saves the appeal.

    A reply deadline never lies after the appeal's ``reply_due_cap`` (the deadline an upper-level
    platform gave it), and a claim deadline never after the reply deadline it belongs to (an
    emergency's).
    """
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown clocks {sorted(unknown)}")
    settings = work_settings()
    cal = work_calendar(settings)
    limits = _limits(appeal.channel, appeal.kind, appeal.urgency)
    dues = {stage: limits.of(stage).apply(cal, start) for stage in stages}
    cap = appeal.reply_due_cap  # an upper-level platform's deadline (上级转办): the stricter
    if "reply" in dues and cap is not None and cap < dues["reply"]:
        dues["reply"] = cap
    if "claim" in dues:
        reply = dues.get("reply", appeal.reply_due)
        if reply is not None and reply < dues["claim"]:
            dues["claim"] = reply
    for stage, due in dues.items():
        setattr(appeal, f"{stage}_due", due)
        setattr(
            appeal, f"{stage}_warn_at", warn_at(start=start, due=due, cal=cal, settings=settings)
        )


def assist_due(
    *,
    reply_due: dt.datetime | None,
    start: dt.datetime,
    channel: str = "",
    kind: str = "",
    urgency: str = "",
) -> dt.datetime:
    """When a co-unit's part (协办) is due: the end of the working day ``assist_lead`` working
    days (from the limits table, 1 as shipped) before the lead's reply deadline. A reply
    deadline too close for that (an emergency's few hours, or one due on the dispatch day) is
    shared as it is; without one, the matching reply limit from ``start``.

    The margin is kept only when it ends on a later day than ``start``: an emergency dispatched at
    17:25 on a Friday, due at 09:25 on Monday, would otherwise give its co-units five minutes."""
    cal = work_calendar()
    if reply_due is None:
        reply_due = _limits(channel, kind, urgency).reply.apply(cal, start)
    lead = assist_lead(channel=channel, kind=kind, urgency=urgency)
    due = cal.sub_working_days(reply_due, lead) if lead else reply_due
    later_day = due.astimezone(cal.tz).date() > start.astimezone(cal.tz).date()
    return due if later_day and due < reply_due else reply_due


def report_due(*, start: dt.datetime) -> dt.datetime:
    """When a department named by a whistle (吹哨) must report (报到): KUAIBAN_REPORT_HOURS
    working hours (2 by default) from ``start``."""
    return work_calendar().add_working_hours(start, float(django_settings.KUAIBAN_REPORT_HOURS))


def move_due(appeal: Appeal, stage: str, *, due: dt.datetime, now: dt.datetime) -> None:
    """Move one clock's deadline (an approved extension); its warning restarts from ``now``."""
    if stage not in STAGES:
        raise ValueError(f"unknown clock {stage!r}")
    setattr(appeal, f"{stage}_due", due)
    setattr(appeal, f"{stage}_warn_at", warn_at(start=now, due=due))


def calendar_warnings(today: dt.date) -> list[int]:
    """Years deadlines may reach that chinese-calendar does not know: this year, and from
    November on the next one (the State Council publishes the arrangement in the autumn)."""
    years = [today.year]
    if today.month >= 11:
        years.append(today.year + 1)
    return [y for y in unknown_years(years) if not notice_entered(y)]


# A notice gives 11 statutory holiday days at least, most of them weekdays; a county's odd local
# day off does not make a year "entered".
NOTICE_MIN_WEEKDAY_HOLIDAYS = 5


def notice_entered(year: int) -> bool:
    """Whether an administrator entered the year's holiday notice as calendar days."""
    from django.db import DatabaseError

    try:
        rest = CalendarDay.objects.filter(date__year=year, is_workday=False)
        weekdays = [d for d in rest.values_list("date", flat=True) if d.weekday() < 5]
    except DatabaseError:  # before the first migrate
        return False
    return len(weekdays) >= NOTICE_MIN_WEEKDAY_HOLIDAYS


def overrides_in(year: int) -> int:
    return CalendarDay.objects.filter(date__year=year).count()


def parse_due(
    value: str | dt.date | dt.datetime | None,
    *,
    field: str,
    now: dt.datetime,
    max_days: int = 90,
) -> dt.datetime:
    """A deadline typed by a person: a date (then the end of that working day, or of the next
    working day if it is a rest day) or an ISO 8601 datetime (Asia/Shanghai if it has no offset).
    It must lie in the future and at most ``max_days`` calendar days ahead."""
    cal = work_calendar()
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed.one(field, _("This field is required."))
    moment: dt.datetime
    day: dt.date | None = None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        day = value
    else:
        text = value.strip()
        try:
            if len(text) <= 10:
                day = dt.date.fromisoformat(text)
            else:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed.one(
                field, _("Use a date like 2026-12-01 or a time like 2026-12-01T17:30+08:00.")
            ) from None
    if day is not None:
        if day < now.astimezone(cal.tz).date():
            raise ValidationFailed.one(field, _("The deadline must lie in the future."))
        moment = cal.end_of_workday(dt.datetime.combine(day, dt.time(0), tzinfo=cal.tz))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=cal.tz)
    if moment <= now:
        raise ValidationFailed.one(field, _("The deadline must lie in the future."))
    if moment > now + dt.timedelta(days=max_days):
        raise ValidationFailed.one(field, _("At most %(days)d days ahead.") % {"days": max_days})
    return moment


def iso(moment: dt.datetime | None) -> str | None:
    """A moment for an event payload: ISO 8601 in Asia/Shanghai with its offset."""
    return moment.astimezone(SHANGHAI).isoformat() if moment else None
