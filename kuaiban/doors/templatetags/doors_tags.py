"""Door-visit coverage for the overview and the rankings to show (敲门行动).

The metrics pages only load this library in their templates; metrics never imports the doors
app (they are independent domains, import-linter checks it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from kuaiban.core import clock
from kuaiban.core.errors import PermissionDenied
from kuaiban.doors import selectors
from kuaiban.doors.rules import COUNTY_WIDE
from kuaiban.doors.services import current_quarter
from kuaiban.org.models import User

register = template.Library()


def _reader(context: dict[str, Any]) -> User | None:
    user = getattr(context.get("request"), "user", None)
    return user if isinstance(user, User) and user.role in COUNTY_WIDE else None


def quarter_for(end: dt.date | None) -> str:
    """The quarter a period's coverage is read from: the one holding its last day (or today,
    for a period still running)."""
    today = timezone.localtime(clock.now()).date()
    day = min(end - dt.timedelta(days=1), today) if end else today
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@register.inclusion_tag("doors/_overview_coverage.html", takes_context=True)
def door_coverage_card(context: dict[str, Any]) -> dict[str, Any]:
    """The quarter's coverage, county-wide and per township, for the overview."""
    user = _reader(context)
    if user is None:
        return {"shown": False}
    try:
        found = selectors.coverage(user=user, quarter=current_quarter())
    except PermissionDenied:
        return {"shown": False}
    towns = [r for r in found.rows if r.level == "township"]
    return {"shown": bool(found.total.households), "c": found, "towns": towns}


@register.simple_tag(takes_context=True)
def door_coverage_by_unit(context: dict[str, Any], end: dt.date | None = None) -> dict[str, Any]:
    """Unit code → the coverage row of its township, village or grid, for the rankings."""
    user = _reader(context)
    if user is None:
        return {}
    try:
        found = selectors.coverage(user=user, quarter=quarter_for(end))
    except PermissionDenied:
        return {}
    return {r.unit: r for r in found.rows if r.unit}


@register.filter
def coverage_pct(row: Any) -> str:
    """ "85.0%" for a coverage row; "—" where no household count is known."""
    share = getattr(row, "coverage", None)
    return "—" if share is None else f"{share * 100:.1f}%"


@register.filter
def coverage_of(rows: dict[str, Any], code: str) -> str:
    """The coverage of the unit with this code ("—" for a unit without grids)."""
    return coverage_pct(rows.get(code) if isinstance(rows, dict) else None)
