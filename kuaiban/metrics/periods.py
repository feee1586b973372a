"""Assessment periods: a month (``2026-11``), a quarter (``2026-Q4``) or a year (``2026``).

One cleaner (:func:`parse_period`) reads every spelling; a bad one is a 4xx naming the field.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kuaiban.core import validation
from kuaiban.core.errors import ValidationFailed

MONTH, QUARTER, YEAR = "month", "quarter", "year"
KINDS = (MONTH, QUARTER, YEAR)
PATTERN = re.compile(r"(\d{4})(?:-(?:(\d{1,2})|[Qq](\d)))?")


@dataclass(frozen=True)
class Period:
    """A calendar month, quarter or year of received dates (local days, both ends included)."""

    kind: str
    start: dt.date

    @property
    def months(self) -> int:
        return {MONTH: 1, QUARTER: 3, YEAR: 12}[self.kind]

    @property
    def end(self) -> dt.date:
        last = _shift(self.start, self.months - 1)
        return last.replace(day=calendar.monthrange(last.year, last.month)[1])

    @property
    def label(self) -> str:
        """The spelling :func:`parse_period` reads: 2026-11, 2026-Q4, 2026."""
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.kind, _shift(self.start, -self.months))

    def next(self) -> Period:
        return Period(self.kind, _shift(self.start, self.months))

    def recent(self, count: int) -> list[Period]:
        """This period and the ``count - 1`` before it, oldest first."""
        out = [self]
        while len(out) < count:
            out.append(out[-1].previous())
        return out[::-1]


def _shift(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month(day: dt.date) -> Period:
    return Period(MONTH, day.replace(day=1))


def containing(day: dt.date, kind: str) -> Period:
    """The month, quarter or year that holds ``day``."""
    if kind == QUARTER:
        return Period(QUARTER, dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1))
    if kind == YEAR:
        return Period(YEAR, dt.date(day.year, 1, 1))
    return month(day)


def parse_period(value: str | None, field: str = "period") -> Period | None:
    """``2026-11``, ``2026-Q4`` or ``2026`` typed in a query string; None when blank."""
    text = (value or "").strip()
    if not text:
        return None
    match = PATTERN.fullmatch(text)
    if match is None:
        raise ValidationFailed.one(
            field, _("Use a month like 2026-11, a quarter like 2026-Q4 or a year like 2026.")
        )
    year, mon, quarter = match.groups()
    validation.check_year(int(year), field)
    if mon is not None:
        if not 1 <= int(mon) <= 12:
            raise ValidationFailed.one(field, _("A month runs from 01 to 12."))
        return Period(MONTH, dt.date(int(year), int(mon), 1))
    if quarter is not None:
        if not 1 <= int(quarter) <= 4:
            raise ValidationFailed.one(field, _("A quarter runs from Q1 to Q4."))
        return Period(QUARTER, dt.date(int(year), (int(quarter) - 1) * 3 + 1, 1))
    return Period(YEAR, dt.date(int(year), 1, 1))


def period_from(period: str | None, month_param: str | None, today: dt.date) -> Period:
    """``period=`` if given, else the older ``month=`` (YYYY-MM), else the current month."""
    found = parse_period(period, "period")
    if found is not None:
        return found
    old = validation.parse_month(month_param, "month")
    return month(old or today)
