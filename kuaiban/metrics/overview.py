"""The one-page overview (一图全览): every figure the dashboard shows, from the metrics services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from kuaiban.appeals import policy
from kuaiban.appeals.models import CONFIDENTIAL_KINDS, OPEN_STATUSES, Alert, Appeal
from kuaiban.appeals.selectors import visible_appeals
from kuaiban.metrics import services
from kuaiban.metrics.models import AppealFact, ScoreScheme
from kuaiban.org.models import Unit, User

OVERDUE_SHOWN = 20


@dataclass
class Overview:
    scope: services.Scope
    scheme: ScoreScheme
    total: dict[str, Any]
    trend: list[dict[str, Any]]
    by_unit: list[dict[str, Any]]
    by_channel: list[dict[str, Any]]
    by_category: list[dict[str, Any]]
    by_region: list[dict[str, Any]]
    overdue: list[Appeal]
    overdue_count: int
    confidential: int


def overdue_appeals(user: User, scope: services.Scope) -> QuerySet[Appeal]:
    """Open appeals flagged overdue (red) now, whenever received, that ``user`` may read."""
    qs = visible_appeals(user).filter(alert=Alert.RED, status__in=OPEN_STATUSES)
    if scope.unit is not None:
        qs = qs.filter(lead_unit_id=scope.unit.pk)
    if scope.channel:
        qs = qs.filter(channel=scope.channel)
    return qs


def overdue_facts(user: User, scope: services.Scope) -> QuerySet[AppealFact]:
    """The same selection read from the facts (a small partial index), for counting fast."""
    services.facts.catch_up()
    qs = AppealFact.objects.filter(overdue=1)  # set on lead rows only
    if scope.unit is not None:
        qs = qs.filter(unit_id=scope.unit.pk)
    if scope.channel:
        qs = qs.filter(channel=scope.channel)
    if user.role not in policy.SEE_ALL:
        qs = qs.exclude(kind__in=CONFIDENTIAL_KINDS)
    return qs


def _rows(groups: list[services.Group], scheme: ScoreScheme) -> list[dict[str, Any]]:
    return [{"key": g.key, "name": g.name, **services.figures(g.counts, scheme)} for g in groups]


def overview(*, user: User, scope: services.Scope) -> Overview:
    services.ensure_reader(user)
    scheme = ScoreScheme.current()
    counts, reports, many = services.overview_counts(
        scope, ["day", "unit", "channel", "category", "region"]
    )
    days = {g.key: g.counts for g in many["day"]}
    trend = []
    day = scope.date_from
    while day <= scope.date_to:
        c = days.get(day.isoformat())
        trend.append(
            {"day": day, "received": c.received if c else 0, "closed": c.closed if c else 0}
        )
        day += dt.timedelta(days=1)
    by_unit = _rows(many["unit"], scheme)
    kinds = dict(Unit.objects.values_list("code", "kind"))
    for row in by_unit:
        row["kind"] = kinds.get(row["key"] or "", "")
    overdue = overdue_facts(user, scope)
    first = list(
        overdue.order_by("due", "appeal_id").values_list("appeal_id", flat=True)[:OVERDUE_SHOWN]
    )
    shown = {
        a.pk: a
        for a in overdue_appeals(user, scope).filter(pk__in=first).select_related("lead_unit")
    }
    return Overview(
        scope=scope,
        scheme=scheme,
        total=services.figures(counts, scheme),
        trend=trend,
        by_unit=by_unit,
        by_channel=_rows(many["channel"], scheme),
        by_category=_rows(many["category"], scheme),
        by_region=_rows(many["region"], scheme),
        overdue=[shown[pk] for pk in first if pk in shown],
        overdue_count=overdue.count(),
        confidential=0 if user.role in policy.SEE_ALL else reports,
    )
