"""Working-time arithmetic on China's statutory calendar: properties (hypothesis) and the
National Day golden week of 2026 (1–7 October off; Sunday 20 September and Saturday 10 October
are make-up working days)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kuaiban.deadlines.calendar import SHANGHAI, WorkCalendar, statutory_is_workday, unknown_years

CAL = WorkCalendar()
ONE_PERIOD = WorkCalendar(hours=((dt.time(9), dt.time(17)),))
GOLDEN_WEEK = [dt.date(2026, 10, d) for d in range(1, 8)]
MAKE_UP_SATURDAY = dt.date(2026, 10, 10)
MAKE_UP_SUNDAY = dt.date(2026, 9, 20)


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# Any moment (to the minute) in the years chinese-calendar knows for sure.
moments = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 11, 30)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
)
# Around the golden week: from mid-September to mid-October 2026.
near_national_day = st.datetimes(
    min_value=dt.datetime(2026, 9, 15), max_value=dt.datetime(2026, 10, 12)
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=SHANGHAI))
hours = st.integers(min_value=1, max_value=8 * 60).map(lambda minutes: minutes / 60)
days = st.integers(min_value=0, max_value=25)
calendars = st.sampled_from([CAL, ONE_PERIOD])


# ----- a deadline never falls on non-working time -----------------------------------------------


@given(cal=calendars, start=moments, h=hours)
def test_working_hours_deadline_is_inside_working_time(
    cal: WorkCalendar, start: dt.datetime, h: float
) -> None:
    due = cal.add_working_hours(start, h)
    assert cal.is_working_time(due)
    assert due > start


@given(cal=calendars, start=moments, n=days)
def test_working_days_deadline_is_the_end_of_a_working_day(
    cal: WorkCalendar, start: dt.datetime, n: int
) -> None:
    due = cal.add_working_days(start, n)
    assert cal.is_working_time(due)
    assert due.timetz().replace(tzinfo=None) == cal.hours[-1][1]
    assert due > start


@given(cal=calendars, start=moments, n=days)
def test_calendar_days_deadline_is_inside_working_time(
    cal: WorkCalendar, start: dt.datetime, n: int
) -> None:
    due = cal.add_calendar_days(start, n)
    assert cal.is_working_time(due)
    assert due.date() >= start.date() + dt.timedelta(days=n)


@given(start=moments)
def test_end_of_workday_is_working_time_and_not_before(start: dt.datetime) -> None:
    end = CAL.end_of_workday(start)
    assert CAL.is_working_time(end) and end >= start


# ----- more time never gives an earlier deadline ------------------------------------------------


@given(cal=calendars, start=moments, a=hours, b=hours)
def test_more_working_hours_never_earlier(
    cal: WorkCalendar, start: dt.datetime, a: float, b: float
) -> None:
    lo, hi = sorted((a, b))
    assert cal.add_working_hours(start, lo) <= cal.add_working_hours(start, hi)


@given(start=moments, a=days, b=days)
def test_more_days_never_earlier(start: dt.datetime, a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert CAL.add_working_days(start, lo) <= CAL.add_working_days(start, hi)
    assert CAL.add_calendar_days(start, lo) <= CAL.add_calendar_days(start, hi)


@given(s1=moments, s2=moments, h=hours, n=days)
def test_later_start_never_earlier(s1: dt.datetime, s2: dt.datetime, h: float, n: int) -> None:
    early, late = sorted((s1, s2))
    assert CAL.add_working_hours(early, h) <= CAL.add_working_hours(late, h)
    assert CAL.add_working_days(early, n) <= CAL.add_working_days(late, n)
    assert CAL.add_calendar_days(early, n) <= CAL.add_calendar_days(late, n)


@given(start=moments, h=hours)
def test_working_time_between_inverts_adding(start: dt.datetime, h: float) -> None:
    due = CAL.add_working_hours(start, h)
    measured = CAL.working_time_between(start, due)
    assert abs(measured - dt.timedelta(hours=h)) < dt.timedelta(seconds=1)


@given(start=moments, h=hours, lead=st.floats(0, 3), frac=st.floats(0, 1))
def test_warning_lies_between_start_and_deadline(
    start: dt.datetime, h: float, lead: float, frac: float
) -> None:
    due = CAL.add_working_hours(start, h)
    warn = CAL.warn_moment(start, due, lead_days=lead, lead_fraction=frac)
    assert start <= warn <= due
    # The time left at the warning is at most the lead asked for (to the second).
    left = CAL.working_time_between(warn, due)
    asked = min(CAL.day_length * lead, CAL.working_time_between(start, due) * frac)
    assert left <= asked + dt.timedelta(seconds=1)


# ----- the golden week is skipped, its make-up days count ---------------------------------------


def test_golden_week_2026_is_known_to_the_package() -> None:
    assert all(statutory_is_workday(d) is False for d in GOLDEN_WEEK)
    assert statutory_is_workday(MAKE_UP_SATURDAY) is True
    assert statutory_is_workday(MAKE_UP_SUNDAY) is True


@given(start=near_national_day, h=hours, n=days)
@settings(max_examples=200)
def test_no_deadline_falls_in_the_golden_week(start: dt.datetime, h: float, n: int) -> None:
    for due in (
        CAL.add_working_hours(start, h),
        CAL.add_working_days(start, n),
        CAL.add_calendar_days(start, n),
        CAL.end_of_workday(start),
    ):
        assert due.astimezone(SHANGHAI).date() not in GOLDEN_WEEK


def test_one_working_day_before_the_holiday_lands_after_it() -> None:
    # Wednesday 30 September + 1 working day: the holiday is skipped, Thursday 8 October.
    assert CAL.add_working_days(at(2026, 9, 30, 10), 1) == at(2026, 10, 8, 17, 30)
    # Working hours carry over the holiday: 1.5 h left on the 30th, 1.5 h on the 8th.
    assert CAL.add_working_hours(at(2026, 9, 30, 16), 3) == at(2026, 10, 8, 10)
    # Seven calendar days from the 28th end on the 5th, a holiday: rolled to the 8th.
    assert CAL.add_calendar_days(at(2026, 9, 28, 9), 7) == at(2026, 10, 8, 17, 30)


def test_the_make_up_saturday_counts() -> None:
    # Friday 9 October + 1 working day is Saturday 10 October (a make-up working day) …
    assert CAL.add_working_days(at(2026, 10, 9, 9), 1) == at(2026, 10, 10, 17, 30)
    # … and a claim that arrives on that Saturday is due the same day.
    assert CAL.end_of_workday(at(2026, 10, 10, 9)) == at(2026, 10, 10, 17, 30)
    assert CAL.is_working_time(at(2026, 10, 10, 10))
    # An ordinary Saturday is not: Saturday 17 October rolls to Monday 19 October.
    assert CAL.end_of_workday(at(2026, 10, 17, 9)) == at(2026, 10, 19, 17, 30)


def test_the_make_up_sunday_before_the_holiday_counts() -> None:
    # Friday 18 September 17:00 + 1 working hour: half an hour on Friday, half on Sunday 20th.
    assert CAL.add_working_hours(at(2026, 9, 18, 17), 1) == at(2026, 9, 20, 9)


def test_working_days_across_the_golden_week() -> None:
    start, end = dt.date(2026, 9, 28), dt.date(2026, 10, 11)
    counted = list(CAL.workdays(start, end))
    # 28, 29, 30 September, then 8, 9, 10 October (the 10th a Saturday).
    assert counted == [dt.date(2026, 9, d) for d in (28, 29, 30)] + [
        dt.date(2026, 10, d) for d in (8, 9, 10)
    ]


def test_a_working_day_back_skips_the_golden_week_and_counts_the_make_up_days() -> None:
    # A co-unit's part is due a working day before the lead's reply (kuaiban.appeals, 协办).
    assert CAL.sub_working_days(at(2026, 10, 8, 17, 30), 1) == at(2026, 9, 30, 17, 30)
    # Monday 12 October, back one: the make-up Saturday 10 October.
    assert CAL.sub_working_days(at(2026, 10, 12, 17, 30), 1) == at(2026, 10, 10, 17, 30)
    # Sunday 20 September is a make-up working day; back from Monday 21st lands on it.
    assert CAL.sub_working_days(at(2026, 9, 21, 10), 1) == at(2026, 9, 20, 17, 30)
    assert CAL.sub_working_days(at(2026, 9, 21, 10), 0) == at(2026, 9, 21, 17, 30)
    with pytest.raises(ValueError, match="negative"):
        CAL.sub_working_days(at(2026, 9, 21, 10), -1)


@given(cal=calendars, start=moments, n=days)
def test_working_days_back_undo_working_days_forward(
    cal: WorkCalendar, start: dt.datetime, n: int
) -> None:
    due = cal.add_working_days(start, n)
    assert cal.sub_working_days(due, n) == cal.end_of_workday(start)


# ----- years the package does not know ----------------------------------------------------------


def test_unknown_year_falls_back_to_weekends_plus_overrides() -> None:
    year = 2099
    assert unknown_years([2026, year]) == [year]
    new_year = dt.date(year, 1, 1)  # a Thursday
    assert CAL.is_workday(new_year)  # weekends only: a Thursday works
    assert not CAL.is_workday(dt.date(year, 1, 3))  # Saturday
    with_override = WorkCalendar(overrides={new_year: False, dt.date(year, 1, 3): True})
    assert not with_override.is_workday(new_year)
    assert with_override.is_workday(dt.date(year, 1, 3))
    # Deadlines still come out (no crash) and skip the override.
    assert with_override.add_working_days(at(year, 1, 1, 9), 0) == at(year, 1, 2, 17, 30)


def test_overrides_beat_the_statutory_calendar() -> None:
    cal = WorkCalendar(overrides={dt.date(2026, 11, 24): False})
    assert cal.add_working_days(at(2026, 11, 23, 18), 0) == at(2026, 11, 25, 17, 30)


def test_bad_hours_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar(hours=((dt.time(14), dt.time(12)),))
    with pytest.raises(ValueError):
        WorkCalendar(hours=((dt.time(8), dt.time(12)), (dt.time(11), dt.time(17))))
    with pytest.raises(ValueError):
        CAL.add_working_hours(dt.datetime(2026, 11, 23, 9), 1)
    with pytest.raises(ValueError):
        CAL.add_working_hours(at(2026, 11, 23, 9), 0)
