"""双排名 (double ranking), read-only: cadres ranked within their leadership team by the outcomes
of the enterprises assigned to them (包保), and units ranked on the county's key work, the
supervision orders (督查事项) addressed to them. Definitions: ``docs/metrics.md``, "Assessment".

The pages, the Excel workbooks and the API all call :func:`cadre_ranking` and
:func:`key_work_ranking`, so a figure is the same wherever it is read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Status
from kuaiban.core import clock, validation
from kuaiban.core.errors import PermissionDenied, ValidationFailed
from kuaiban.enterprise.models import Assignment, EnterpriseAppeal, EnterpriseVisit, IndustryChain
from kuaiban.metrics import facts
from kuaiban.metrics.models import AppealFact
from kuaiban.org.models import Role, Unit, User
from kuaiban.supervision.models import OrderEvent, SupervisionOrder

TZ = ZoneInfo("Asia/Shanghai")
READERS = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
# The team of cadres who belong to no unit: the county's own leaders (县级领导).
COUNTY_TEAM = "county"
EXCLUDED = (Status.MERGED, Status.INVALID)

# Weights of the cadre score (points out of 100 when every rate is known).
CADRE_WEIGHTS: dict[str, int] = {
    "visit_coverage": 25,
    "closure_rate": 25,
    "on_time_rate": 25,
    "satisfaction_rate": 25,
}
# Weights of the key-work score.
KEY_WORK_WEIGHTS: dict[str, int] = {"on_time_rate": 60, "clearance_rate": 40}
KEY_WORK_TIERS = (Unit.Kind.DEPARTMENT, Unit.Kind.TOWNSHIP, Unit.Kind.VILLAGE, Unit.Kind.GRID)

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_YEAR = re.compile(r"\d{4}")


# ----- periods -----------------------------------------------------------------------------------


def today() -> dt.date:
    return clock.now().astimezone(TZ).date()


def parse_period(value: str | None, field_name: str = "period") -> tuple[dt.date, dt.date, str]:
    """``2026-11`` (a month), ``2026-Q4`` (a quarter) or ``2026`` (a year), typed in a query
    string: (first day, first day after the period, label). Blank means the current month; a
    period that starts after today is refused, as is anything else, naming ``field_name``."""
    text = (value or "").strip()
    if not text:
        first = today().replace(day=1)
        return first, _next_month(first), f"{first:%Y-%m}"
    start: dt.date | None = None
    if match := _MONTH.fullmatch(text):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            validation.check_year(year, field_name)
            start = dt.date(year, month, 1)
            end, label = _next_month(start), f"{start:%Y-%m}"
    elif match := _QUARTER.fullmatch(text):
        year, quarter = int(match.group(1)), int(match.group(2))
        validation.check_year(year, field_name)
        start = dt.date(year, 3 * quarter - 2, 1)
        end = dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1)
        label = f"{year}-Q{quarter}"
    elif _YEAR.fullmatch(text):
        year = int(text)
        validation.check_year(year, field_name)
        start, end, label = dt.date(year, 1, 1), dt.date(year + 1, 1, 1), str(year)
    if start is None:
        raise ValidationFailed.one(
            field_name, _("Use a month (2026-11), a quarter (2026-Q4) or a year (2026).")
        )
    if start > today():
        raise ValidationFailed.one(field_name, _("This period has not begun yet."))
    return start, end, label


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (
        dt.datetime.combine(start, dt.time.min, TZ),
        dt.datetime.combine(end, dt.time.min, TZ),
    )


# ----- who may read ------------------------------------------------------------------------------


def cadre_scope(user: User, team: str | None = None) -> str | None:
    """The team a reader of the cadre ranking may see: None for all (leaders, supervisors,
    administrators; ``team`` narrows it), the handler's own unit for a handler (another team
    is 403). Everyone else is 403."""
    if not (user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Log in to read the assessment."))
    if user.role in READERS:
        return team or None
    if user.role == Role.HANDLER and user.unit is not None:
        if team and team != user.unit.code:
            raise PermissionDenied(_("A handler reads only the ranking of their own unit's team."))
        return user.unit.code
    raise PermissionDenied(
        _("Your role (%(role)s) may not read the cadre ranking.")
        % {"role": user.get_role_display()}
    )


def check_team(team: str, field_name: str = "team") -> str:
    """A team is a unit's code, or ``county`` for the county's leaders."""
    if team != COUNTY_TEAM and not Unit.objects.filter(code=team[:40]).exists():
        raise ValidationFailed.one(
            field_name,
            _("No leadership team %(team)r: use a unit code or county.") % {"team": team[:40]},
        )
    return team


def ensure_key_work_reader(user: User) -> None:
    """The key-work ranking ranks units against each other: leaders, supervisors and
    administrators only (a unit reads its own orders on the supervision pages)."""
    if not (user.is_authenticated and user.is_active and user.role in READERS):
        raise PermissionDenied(
            _("Your role (%(role)s) may not read the key-work ranking.")
            % {"role": user.get_role_display()}
        )


# ----- shared arithmetic -------------------------------------------------------------------------


def rate(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def weighted_score(rates: dict[str, Fraction | None], weights: dict[str, int]) -> float | None:
    """100 × Σ weight × rate / Σ weight over the rates that are known; None when none is."""
    known = {name: r for name, r in rates.items() if r is not None and weights.get(name)}
    if not known:
        return None
    total = sum(Fraction(weights[name]) * r for name, r in known.items())
    return round(float(100 * total / sum(weights[name] for name in known)), 2)


def competition_ranks(scores: list[float | None]) -> list[int | None]:
    """Rank 1, 2, 2, 4 by score, highest first; an unscored row has no rank."""
    ordered = sorted((s for s in scores if s is not None), reverse=True)
    first: dict[float, int] = {}
    for i, s in enumerate(ordered, start=1):
        first.setdefault(s, i)
    return [first[s] if s is not None else None for s in scores]


def _float(value: Fraction | None) -> float | None:
    return round(float(value), 4) if value is not None else None


# ----- (a) cadres within their leadership team ---------------------------------------------------


@dataclass
class CadreRow:
    user: User
    enterprises: set[int] = field(default_factory=set)
    visited: set[int] = field(default_factory=set)
    visits: int = 0
    problems: int = 0
    closed: int = 0
    replied: int = 0
    replied_on_time: int = 0
    due_passed_unreplied: int = 0
    rated: int = 0
    satisfied: int = 0
    rank: int | None = None

    def rates(self) -> dict[str, Fraction | None]:
        return {
            "visit_coverage": rate(len(self.visited), len(self.enterprises)),
            "closure_rate": rate(self.closed, self.problems),
            "on_time_rate": rate(self.replied_on_time, self.replied + self.due_passed_unreplied),
            "satisfaction_rate": rate(self.satisfied, self.rated),
        }

    @property
    def score(self) -> float | None:
        return weighted_score(self.rates(), CADRE_WEIGHTS)

    def as_dict(self) -> dict[str, Any]:
        unit = self.user.unit
        return {
            "username": self.user.username,
            "name": self.user.label,
            "unit": unit.code if unit else None,
            "unit_name": unit.name if unit else None,
            "rank": self.rank,
            "score": self.score,
            "enterprises": len(self.enterprises),
            "enterprises_visited": len(self.visited),
            "visits": self.visits,
            "problems": self.problems,
            "closed": self.closed,
            "replied": self.replied,
            "replied_on_time": self.replied_on_time,
            "due_passed_unreplied": self.due_passed_unreplied,
            "rated": self.rated,
            "satisfied": self.satisfied,
            **{name: _float(r) for name, r in self.rates().items()},
        }


class _Holdings:
    """Who looked after which enterprise when: 包保 assignments (with their dates) and the
    leaders of the industry chains (链长, for the chain's enterprises as it stands)."""

    def __init__(self, start: dt.datetime, end: dt.datetime) -> None:
        self.spans: dict[int, list[tuple[int, dt.datetime, dt.datetime | None]]] = defaultdict(list)
        rows = Assignment.objects.filter(enterprise__isnull=False, assigned_at__lt=end).filter(
            Q(ended_at__isnull=True) | Q(ended_at__gt=start)
        )
        for official, enterprise, since, until in rows.values_list(
            "official_id", "enterprise_id", "assigned_at", "ended_at"
        ):
            self.spans[enterprise].append((official, since, until))
        # Chains keep no history of their members: a chain counts from its creation, with the
        # enterprises it holds now.
        self.chains: dict[int, dict[int, dt.datetime]] = defaultdict(dict)
        for leader, enterprise, created in IndustryChain.objects.filter(
            enterprises__isnull=False, created_at__lt=end
        ).values_list("leader_id", "enterprises__id", "created_at"):
            self.chains[enterprise][leader] = created

    def holders(self, enterprise: int, at: dt.datetime | None = None) -> set[int]:
        """Cadres responsible for the enterprise at ``at`` (None: at any time in the period)."""
        found = {
            leader
            for leader, since in self.chains.get(enterprise, {}).items()
            if at is None or since <= at
        }
        for official, since, until in self.spans.get(enterprise, ()):
            if at is None or (since <= at and (until is None or at < until)):
                found.add(official)
        return found

    def enterprises(self) -> set[int]:
        return set(self.spans) | set(self.chains)


def cadre_ranking(period: str | None, *, team: str | None = None) -> dict[str, Any]:
    """Every leadership team's cadres, ranked within the team (``team``: one team's code)."""
    start_day, end_day, label = parse_period(period)
    start, end = _bounds(start_day, end_day)
    if team is not None:
        check_team(team)
    facts.catch_up()
    holdings = _Holdings(start, end)
    rows: dict[int, CadreRow] = {}

    def row(pk: int) -> CadreRow:
        return rows.setdefault(pk, CadreRow(user=User(pk=pk)))

    for enterprise in holdings.enterprises():
        for pk in holdings.holders(enterprise):
            row(pk).enterprises.add(enterprise)
    _count_visits(holdings, start_day, end_day, row)
    _count_problems(holdings, start, end, row)
    users = User.objects.select_related("unit").in_bulk(list(rows))
    teams: dict[str, list[CadreRow]] = defaultdict(list)
    for pk, r in rows.items():
        r.user = users[pk]
        key = r.user.unit.code if r.user.unit else COUNTY_TEAM
        if team is None or key == team:
            teams[key].append(r)
    return {
        "period": label,
        "from": start_day,
        "to": end_day - dt.timedelta(days=1),
        "weights": CADRE_WEIGHTS,
        "teams": [_team(key, members) for key, members in _team_order(teams)],
    }


def _count_visits(holdings: _Holdings, start: dt.date, end: dt.date, row: Any) -> None:
    """包保 visits: a visit in the period by a cadre who held the enterprise on that day."""
    through = EnterpriseVisit.visitors.through
    for visitor, enterprise, day in through.objects.filter(
        enterprisevisit__visited_on__gte=start, enterprisevisit__visited_on__lt=end
    ).values_list("user_id", "enterprisevisit__enterprise_id", "enterprisevisit__visited_on"):
        at = dt.datetime.combine(day, dt.time(12), TZ)
        if visitor in holdings.holders(enterprise, at):
            r = row(visitor)
            r.visits += 1
            r.visited.add(enterprise)


def _count_problems(holdings: _Holdings, start: dt.datetime, end: dt.datetime, row: Any) -> None:
    """Problems: appeals of the cadre's enterprises received in the period (merged and invalid
    ones left out), with their outcomes from the metrics facts (the appeal's lead row)."""
    links = list(
        EnterpriseAppeal.objects.filter(appeal__received_at__gte=start, appeal__received_at__lt=end)
        .exclude(appeal__status__in=EXCLUDED)
        .values_list("appeal_id", "enterprise_id", "appeal__received_at")
    )
    outcome = _outcomes([a for a, _e, _r in links])
    now = clock.now()
    for appeal, enterprise, received in links:
        f = outcome.get(appeal)
        for pk in holdings.holders(enterprise, received):
            r = row(pk)
            r.problems += 1
            if f is None:
                continue
            r.closed += f["closed"]
            r.replied += f["replied"]
            r.replied_on_time += f["replied_on_time"]
            due = f["reply_due_open"]
            r.due_passed_unreplied += int(due is not None and due < now)
            r.rated += f["rated"]
            r.satisfied += f["satisfied"]


def _outcomes(appeals: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for i in range(0, len(appeals), 500):
        for f in AppealFact.objects.filter(lead=True, appeal_id__in=appeals[i : i + 500]).values(
            "appeal_id",
            "closed",
            "replied",
            "replied_on_time",
            "reply_due_open",
            "rated",
            "satisfied",
        ):
            out[f["appeal_id"]] = dict(f)
    return out


def _team_order(teams: dict[str, list[CadreRow]]) -> Iterable[tuple[str, list[CadreRow]]]:
    """The county's leaders first, then units by kind and code (as the directory lists them)."""
    order: dict[str, int] = {str(kind): i for i, kind in enumerate(KEY_WORK_TIERS)}

    def key(item: tuple[str, list[CadreRow]]) -> tuple[int, str]:
        code, members = item
        unit = members[0].user.unit
        return (-1 if unit is None else order.get(unit.kind, 9), code)

    return sorted(teams.items(), key=key)


def _team(key: str, members: list[CadreRow]) -> dict[str, Any]:
    scores = [m.score for m in members]
    for m, rank in zip(members, competition_ranks(scores), strict=True):
        m.rank = rank
    members.sort(key=lambda m: (m.rank is None, m.rank or 0, m.user.label))
    unit = members[0].user.unit
    return {
        "key": key,
        "name": unit.name if unit else str(_("County leaders")),
        "cadres": [m.as_dict() for m in members],
    }


# ----- (b) units on the county's key work --------------------------------------------------------


@dataclass
class UnitRow:
    unit: Unit
    orders: int = 0
    cleared: int = 0
    closed_on_time: int = 0
    overdue_open: int = 0
    sent_back: int = 0
    red: int = 0
    rank: int | None = None

    def rates(self) -> dict[str, Fraction | None]:
        return {
            "on_time_rate": rate(self.closed_on_time, self.orders),
            "clearance_rate": rate(self.cleared, self.orders),
        }

    @property
    def score(self) -> float | None:
        return weighted_score(self.rates(), KEY_WORK_WEIGHTS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.unit.code,
            "name": self.unit.name,
            "rank": self.rank,
            "score": self.score,
            "orders": self.orders,
            "red": self.red,
            "cleared": self.cleared,
            "closed_on_time": self.closed_on_time,
            "overdue_open": self.overdue_open,
            "sent_back": self.sent_back,
            **{name: _float(r) for name, r in self.rates().items()},
        }


def key_work_ranking(period: str | None) -> dict[str, Any]:
    """Units ranked on the supervision orders issued to them in the period, tier by tier."""
    start_day, end_day, label = parse_period(period)
    start, end = _bounds(start_day, end_day)
    now = clock.now()
    orders = SupervisionOrder.objects.filter(issued_at__gte=start, issued_at__lt=end)
    withdrawn = set(
        OrderEvent.objects.filter(
            order__in=orders, action=OrderEvent.Action.CLOSE, payload__from="open"
        ).values_list("order_id", flat=True)
    )
    sent_back: dict[int, int] = defaultdict(int)
    for order_id in OrderEvent.objects.filter(
        order__in=orders, action=OrderEvent.Action.REOPEN
    ).values_list("order_id", flat=True):
        sent_back[order_id] += 1
    rows: dict[int, UnitRow] = {}
    units = Unit.objects.in_bulk(
        list(orders.values_list("unit_id", flat=True).distinct())
        + list(
            Unit.objects.filter(
                active=True, kind__in=(Unit.Kind.DEPARTMENT, Unit.Kind.TOWNSHIP)
            ).values_list("pk", flat=True)
        )
    )
    for unit in units.values():
        rows[unit.pk] = UnitRow(unit=unit)
    for pk, unit_id, status, level, due, answered in orders.values_list(
        "pk", "unit_id", "status", "level", "due_at", "answered_at"
    ):
        if pk in withdrawn:
            continue
        r = rows[unit_id]
        r.orders += 1
        r.red += int(level == "red")
        r.sent_back += sent_back.get(pk, 0)
        if status == SupervisionOrder.Status.CLOSED:
            r.cleared += 1
            r.closed_on_time += int(answered is not None and answered <= due)
        elif status == SupervisionOrder.Status.OPEN and due < now:
            r.overdue_open += 1
    tiers = []
    for kind in KEY_WORK_TIERS:
        members = [r for r in rows.values() if r.unit.kind == kind]
        if not any(r.orders for r in members):
            continue
        for r, rank in zip(members, competition_ranks([r.score for r in members]), strict=True):
            r.rank = rank
        members.sort(key=lambda r: (r.rank is None, r.rank or 0, r.unit.code))
        tiers.append(
            {
                "kind": kind,
                "name": str(Unit.Kind(kind).label),
                "units": [r.as_dict() for r in members],
            }
        )
    return {
        "period": label,
        "from": start_day,
        "to": end_day - dt.timedelta(days=1),
        "weights": KEY_WORK_WEIGHTS,
        "tiers": tiers,
    }
