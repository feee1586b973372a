"""Working-time arithmetic on China's statutory calendar. Pure functions, no database.

A :class:`WorkCalendar` knows which dates are working days (chinese-calendar's statutory holidays
and make-up working days, plus explicit overrides) and the working hours of a day. Deadlines
computed with it always fall inside working time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(8, 30), dt.time(12, 0)),
    (dt.time(14, 0), dt.time(17, 30)),
)
# How far we look for the next working day before deciding the calendar is broken.
_MAX_SCAN_DAYS = 366


def statutory_is_workday(day: dt.date) -> bool | None:
    """chinese-calendar's answer, or None for a year the installed package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass(frozen=True)
class WorkCalendar:
    hours: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_HOURS
    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    tz: ZoneInfo = SHANGHAI

    def __post_init__(self) -> None:
        if not self.hours:
            raise ValueError("a working day needs at least one period")
        previous_end: dt.time | None = None
        for start, end in self.hours:
            if not start < end or (previous_end is not None and start < previous_end):
                raise ValueError("working periods must be ordered and must not overlap")
            previous_end = end

    # ----- days -------------------------------------------------------------------------------
    def is_workday(self, day: dt.date) -> bool:
        if day in self.overrides:
            return bool(self.overrides[day])
        known = statutory_is_workday(day)
        if known is not None:
            return known
        return day.weekday() < 5  # unknown year: weekends only, plus overrides

    def year_is_known(self, year: int) -> bool:
        return statutory_is_workday(dt.date(year, 1, 2)) is not None

    def next_workday(self, day: dt.date, *, include: bool = False) -> dt.date:
        candidate = day if include else day + dt.timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_workday(candidate):
                return candidate
            candidate += dt.timedelta(days=1)
        raise ValueError("no working day within a year: check the calendar overrides")

    def previous_workday(self, day: dt.date) -> dt.date:
        candidate = day - dt.timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_workday(candidate):
                return candidate
            candidate -= dt.timedelta(days=1)
        raise ValueError("no working day within a year: check the calendar overrides")

    def workdays(self, start: dt.date, end: dt.date) -> Iterable[dt.date]:
        day = start
        while day <= end:
            if self.is_workday(day):
                yield day
            day += dt.timedelta(days=1)

    # ----- moments ----------------------------------------------------------------------------
    def _local(self, at: dt.datetime) -> dt.datetime:
        if at.tzinfo is None:
            raise ValueError("naive datetimes are not accepted")
        return at.astimezone(self.tz)

    def _at(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.tz)

    def is_working_time(self, at: dt.datetime) -> bool:
        local = self._local(at)
        if not self.is_workday(local.date()):
            return False
        t = local.timetz().replace(tzinfo=None)
        return any(start < t <= end for start, end in self.hours)

    def end_of_workday(self, at: dt.datetime) -> dt.datetime:
        """The end of the working day ``at`` falls in; after hours or on a rest day, the next."""
        local = self._local(at)
        day_end = self.hours[-1][1]
        day = local.date()
        if self.is_workday(day) and local.timetz().replace(tzinfo=None) < day_end:
            return self._at(day, day_end)
        return self._at(self.next_workday(day), day_end)

    @property
    def day_length(self) -> dt.timedelta:
        """The working time in one full working day (7 hours with the default hours)."""
        return sum(
            (
                dt.datetime.combine(dt.date.min, end) - dt.datetime.combine(dt.date.min, start)
                for start, end in self.hours
            ),
            dt.timedelta(),
        )

    def add_working_hours(self, at: dt.datetime, hours: float) -> dt.datetime:
        """``at`` plus this much working time; the result is inside a working period."""
        if hours <= 0:
            raise ValueError("hours must be positive")
        return self.add_working_time(at, dt.timedelta(hours=hours))

    def add_working_time(self, at: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        """``at`` plus ``delta`` of working time; the result is inside a working period."""
        if delta <= dt.timedelta(0):
            raise ValueError("the working time to add must be positive")
        remaining = delta
        local = self._local(at)
        day = local.date()
        for _ in range(_MAX_SCAN_DAYS * 2):
            if self.is_workday(day):
                for start, end in self.hours:
                    period_start = self._at(day, start)
                    period_end = self._at(day, end)
                    begin = max(period_start, local)
                    if begin >= period_end:
                        continue
                    available = period_end - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day = self.next_workday(day)
            local = self._at(day, self.hours[0][0])
        raise ValueError("deadline too far away")

    def add_working_days(self, at: dt.datetime, days: int) -> dt.datetime:
        """The end of the ``days``-th working day after ``at``'s day (0: the end of this one)."""
        if days < 0:
            raise ValueError("days must not be negative")
        deadline = self.end_of_workday(at)
        day = deadline.date()
        for _ in range(days):
            day = self.next_workday(day)
        return self._at(day, self.hours[-1][1])

    def sub_working_days(self, at: dt.datetime, days: int) -> dt.datetime:
        """The end of the working day ``days`` working days before ``at``'s date (counting
        working days only; 0: the end of that date's work)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = self._local(at).date()
        for _ in range(days):
            day = self.previous_workday(day)
        return self._at(day, self.hours[-1][1])

    def add_calendar_days(self, at: dt.datetime, days: int) -> dt.datetime:
        """``days`` natural days later, at the end of that day's work; a rest day rolls forward."""
        if days < 0:
            raise ValueError("days must not be negative")
        target = self._local(at).date() + dt.timedelta(days=days)
        day = self.next_workday(target, include=True)
        return self._at(day, self.hours[-1][1])

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """How much working time lies between two moments (zero if ``end`` is not later)."""
        a, b = self._local(start), self._local(end)
        total = dt.timedelta(0)
        if b <= a:
            return total
        day = a.date()
        while day <= b.date():
            if self.is_workday(day):
                for period_start, period_end in self.hours:
                    lo = max(self._at(day, period_start), a)
                    hi = min(self._at(day, period_end), b)
                    if hi > lo:
                        total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def warn_moment(
        self, start: dt.datetime, due: dt.datetime, *, lead_days: float, lead_fraction: float
    ) -> dt.datetime:
        """When a clock running from ``start`` to ``due`` turns yellow.

        The warning comes ``lead_days`` working days before the deadline, or when only
        ``lead_fraction`` of the working time is left, whichever is later (so a two-hour limit
        is not yellow from its first minute). Never before ``start``, never after ``due``.
        """
        total = self.working_time_between(start, due)
        if total <= dt.timedelta(0):
            return min(start, due)
        lead = min(self.day_length * lead_days, total * lead_fraction)
        if lead <= dt.timedelta(0):
            return due
        if lead >= total:
            return start
        return min(self.add_working_time(start, total - lead), due)


def unknown_years(years: Iterable[int]) -> list[int]:
    """The years among ``years`` that the installed chinese-calendar does not cover."""
    return sorted({y for y in years if statutory_is_workday(dt.date(y, 1, 2)) is None})
