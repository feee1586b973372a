"""The seasonal forecast (民情月历): next month's likely appeals by category and township.

Read-only, from the metrics facts (:class:`~kuaiban.metrics.models.AppealFact`, one lead row per
counted appeal) in three aggregate queries whatever the ledger's size. The method, defined in
``docs/metrics.md`` ("Seasonal forecast"):

- *base* of a (category, township) for month M: the mean of its counts in M one and two years
  before; only last year's when the ledger does not reach back to M two years before;
- *trend* of a category, county-wide: its appeals in the 91 days before the forecast is made,
  over the same 91 days a year earlier, kept within [0.5, 2] (1 when a year ago had none);
- *expected* = base × trend; the month before M is forecast the same way, and a row is *rising*
  when its expected count is at least ``RISE_MIN`` and at least ``RISE_RATIO`` times that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Category
from kuaiban.core import validation
from kuaiban.core.errors import ValidationFailed
from kuaiban.metrics import services as metrics
from kuaiban.metrics.models import AppealFact
from kuaiban.org.models import Region

TREND_DAYS = 91
TREND_MIN, TREND_MAX = 0.5, 2.0
RISE_MIN = 3.0
RISE_RATIO = 1.5
WATCH_SHOWN = 10
# How far ahead a forecast may be asked for: the method needs last year's month.
AHEAD_MONTHS = 12


def add_months(first: dt.date, n: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_range(first: dt.date) -> Q:
    start, end = metrics.month_bounds(first)
    return Q(day__gte=start, day__lte=end)


@dataclass(frozen=True)
class Row:
    category_code: str
    category: str
    township_code: str
    township: str
    expected: float
    last_year: int
    two_years_ago: int
    previous_expected: float
    trend: float

    @property
    def rising(self) -> bool:
        return self.expected >= RISE_MIN and self.expected >= RISE_RATIO * self.previous_expected

    @property
    def rise(self) -> float:
        return round(self.expected - self.previous_expected, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "category": {"code": self.category_code, "name": self.category},
            "township": {"code": self.township_code, "name": self.township},
            "expected": self.expected,
            "last_year": self.last_year,
            "two_years_ago": self.two_years_ago,
            "previous_expected": self.previous_expected,
            "trend": self.trend,
            "rising": self.rising,
        }


@dataclass(frozen=True)
class Forecast:
    month: dt.date
    as_of: dt.date
    two_years: bool
    rows: list[Row]

    @property
    def watch(self) -> list[Row]:
        rising = [r for r in self.rows if r.rising]
        rising.sort(key=lambda r: (-r.rise, -r.expected, r.category_code, r.township_code))
        return rising[:WATCH_SHOWN]


def parse_target(value: str | None, *, today: dt.date) -> dt.date:
    """``YYYY-MM`` (blank: next month), at most ``AHEAD_MONTHS`` ahead of this month."""
    month = validation.parse_month(value, "month")
    this_month = today.replace(day=1)
    if month is None:
        return add_months(this_month, 1)
    if month > add_months(this_month, AHEAD_MONTHS):
        raise ValidationFailed.one("month", _("At most %(n)d months ahead.") % {"n": AHEAD_MONTHS})
    return month


def _trends(as_of: dt.date) -> dict[int, float]:
    """Per category: appeals in the 91 days before ``as_of`` over the same days a year before."""
    recent = Q(day__gte=as_of - dt.timedelta(days=TREND_DAYS), day__lt=as_of)
    year_ago = Q(
        day__gte=as_of - dt.timedelta(days=364 + TREND_DAYS), day__lt=as_of - dt.timedelta(364)
    )
    rows = (
        AppealFact.objects.filter(recent | year_ago, lead=True, category__isnull=False)
        .values("category_id")
        .annotate(now=Sum("received", filter=recent), then=Sum("received", filter=year_ago))
    )
    out: dict[int, float] = {}
    for r in rows:
        now, then = r["now"] or 0, r["then"] or 0
        ratio = now / then if then else 1.0
        out[r["category_id"]] = round(min(TREND_MAX, max(TREND_MIN, ratio)), 2)
    return out


def _seasonal(month: dt.date) -> tuple[list[dict[str, Any]], bool, bool]:
    """Counts per (category, township) in the four months the bases need, and whether the
    ledger reaches back to M and to M − 1 two years before."""
    windows = {
        "ly": month_range(add_months(month, -12)),
        "ty": month_range(add_months(month, -24)),
        "ly_prev": month_range(add_months(month, -13)),
        "ty_prev": month_range(add_months(month, -25)),
    }
    every = windows["ly"] | windows["ty"] | windows["ly_prev"] | windows["ty_prev"]
    rows = [
        dict(r)  # with the four windows' sums, which the stubs' row type does not know
        for r in AppealFact.objects.filter(
            every, lead=True, category__isnull=False, township__isnull=False
        )
        .values("category_id", "township_id")
        .annotate(**{k: Sum("received", filter=q) for k, q in windows.items()})
    ]
    oldest = AppealFact.objects.filter(lead=True).order_by("day").values_list("day", flat=True)
    first = oldest.first()
    reach = first is not None and first <= metrics.month_bounds(add_months(month, -24))[1]
    reach_prev = first is not None and first <= metrics.month_bounds(add_months(month, -25))[1]
    return rows, reach, reach_prev


def _base(last: int, before: int, two_years: bool) -> float:
    return (last + before) / 2 if two_years else float(last)


def forecast(month: dt.date, *, today: dt.date) -> Forecast:
    """Every (category, township) with appeals in the months the method reads, by expected
    count (highest first)."""
    metrics.facts.catch_up()  # what the rollup worker has not folded in yet
    as_of = min(today, month)
    rows, reach, reach_prev = _seasonal(month)
    trends = _trends(as_of)
    cats = dict(
        Category.objects.filter(pk__in={r["category_id"] for r in rows}).values_list("pk", "code")
    )
    names = dict(Category.objects.filter(pk__in=cats).values_list("pk", "name"))
    towns = {
        pk: (code, name)
        for pk, code, name in Region.objects.filter(
            pk__in={r["township_id"] for r in rows}
        ).values_list("pk", "code", "name")
    }
    out: list[Row] = []
    for r in rows:
        ly, ty = r["ly"] or 0, r["ty"] or 0
        trend = trends.get(r["category_id"], 1.0)
        expected = _base(ly, ty, reach) * trend
        previous = _base(r["ly_prev"] or 0, r["ty_prev"] or 0, reach_prev) * trend
        code, name = towns[r["township_id"]]
        out.append(
            Row(
                category_code=cats[r["category_id"]],
                category=names[r["category_id"]],
                township_code=code,
                township=name,
                expected=round(expected, 1),
                last_year=ly,
                two_years_ago=ty,
                previous_expected=round(previous, 1),
                trend=trend,
            )
        )
    out.sort(key=lambda x: (-x.expected, x.category_code, x.township_code))
    return Forecast(month=month, as_of=as_of, two_years=reach, rows=out)
