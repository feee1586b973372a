"""The rates, the composite score and the monthly rankings. Read-only: every figure is a sum
over :class:`~kuaiban.metrics.models.AppealFact` rows (see ``docs/metrics.md`` for the formulas).

The API, the dashboard, the rankings page and the Excel files all call these functions.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.appeals.models import Category, Channel
from kuaiban.core import clock, validation
from kuaiban.core.errors import FieldError, PermissionDenied, ValidationFailed
from kuaiban.metrics import facts, periods
from kuaiban.metrics.models import (
    AppealFact,
    ResponseMetric,
    ScoreScheme,
    Scoring,
    Tier,
    VillageScheme,
)
from kuaiban.metrics.periods import Period
from kuaiban.org.models import Region, Role, Unit, User

READERS = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
GROUPS = ("unit", "region", "channel", "category")
MAX_DAYS = 3 * 366

RATES = (
    "on_time_claim_rate",
    "return_rate",
    "closure_rate",
    "on_time_reply_rate",
    "participation_rate",
    "satisfaction_rate",
    "resolution_rate",
    "authenticity_rate",
    "rework_rate",
    "co_handling_rate",
)


def ensure_reader(user: User) -> None:
    """Leaders, supervisors and administrators read the figures; nobody else."""
    if not (user.is_authenticated and user.is_active and user.role in READERS):
        raise PermissionDenied(
            _("Your role (%(role)s) may not read the metrics.") % {"role": user.get_role_display()}
        )


# ----- scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which appeals a figure covers: received between two local dates, and optional filters."""

    date_from: dt.date
    date_to: dt.date
    unit: Unit | None = None
    channel: str = ""
    category: Category | None = None
    region: Region | None = None

    def ledger_params(self) -> dict[str, str]:
        """The same selection as query parameters of the ledger (/appeals/)."""
        out = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.unit:
            out["unit"] = self.unit.code
        if self.channel:
            out["channel"] = self.channel
        if self.region:
            out["region"] = self.region.code
        return out


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def previous_month(month: dt.date) -> dt.date:
    first = month.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


def parse_month(value: str | None, field: str = "month") -> dt.date:
    return validation.parse_month(value, field) or today().replace(day=1)


def today() -> dt.date:
    return facts.local_day(clock.now())


def scope_from_params(params: Mapping[str, Any]) -> Scope:
    """Parse ``from``, ``to``, ``unit``, ``channel``, ``category``, ``region`` (codes), collecting
    every problem. Missing dates default to the current month up to today."""
    errors: list[FieldError] = []

    def day(name: str) -> dt.date | None:
        text = str(params.get(name) or "").strip()
        if not text:
            return None
        try:
            return validation.check_date(dt.date.fromisoformat(text), name)
        except ValueError:
            errors.append(FieldError(name, _("Use a date like 2026-05-31.")))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        return None

    start, end = day("from"), day("to")
    now = today()
    start = start or (end or now).replace(day=1)
    end = end or max(now, start)
    if start > end:
        errors.append(FieldError("from", _("The start is after the end.")))
    elif (end - start).days > MAX_DAYS:
        errors.append(FieldError("to", _("At most three years at a time.")))

    def ref(name: str, model: Any) -> Any:
        code = str(params.get(name) or "").strip()
        if not code:
            return None
        found = model.objects.filter(code=code).first()
        if found is None:
            errors.append(FieldError(name, _("Unknown code %(code)r.") % {"code": code}))
        return found

    unit = ref("unit", Unit)
    category = ref("category", Category)
    region = ref("region", Region)
    channel = str(params.get("channel") or "").strip()
    if channel and channel not in Channel.values:
        errors.append(FieldError("channel", _("Unknown value %(value)r.") % {"value": channel}))
        channel = ""
    if errors:
        raise ValidationFailed(errors)
    return Scope(start, end, unit, channel, category, region)


def _descendants(model: Any, root_id: int) -> list[int]:
    ids, frontier = [root_id], [root_id]
    while frontier:
        frontier = list(model.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


def fact_rows(scope: Scope) -> QuerySet[AppealFact]:
    qs = AppealFact.objects.filter(day__gte=scope.date_from, day__lte=scope.date_to)
    if scope.unit is not None:
        qs = qs.filter(unit_id=scope.unit.pk)
    if scope.channel:
        qs = qs.filter(channel=scope.channel)
    if scope.category is not None:
        if scope.category.parent_id is None:
            qs = qs.filter(category_top_id=scope.category.pk)
        else:
            qs = qs.filter(category_id__in=_descendants(Category, scope.category.pk))
    if scope.region is not None:
        level = scope.region.level
        if level == Region.Level.TOWNSHIP:
            qs = qs.filter(township_id=scope.region.pk)
        elif level != Region.Level.COUNTY:
            qs = qs.filter(region_id__in=_descendants(Region, scope.region.pk))
    return qs


# ----- counting ----------------------------------------------------------------------------------


@dataclass
class Counts:
    received: int = 0
    dispatches: int = 0
    claimed_on_time: int = 0
    returns: int = 0
    closed: int = 0
    replied: int = 0
    replied_on_time: int = 0
    due_passed_unreplied: int = 0
    parts_answered: int = 0
    parts_answered_on_time: int = 0
    parts_due_passed_unanswered: int = 0
    extensions: int = 0
    reworked: int = 0
    visited: int = 0
    rated: int = 0
    satisfied: int = 0
    resolved: int = 0
    authentic: int = 0
    on_spot: int = 0

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Counts:
        return cls(**{f.name: int(row.get(f.name) or 0) for f in fields(cls)})

    @property
    def reply_due(self) -> int:
        """Appeals whose reply deadline has passed or that were replied."""
        return self.replied + self.due_passed_unreplied

    @property
    def parts_due(self) -> int:
        """Co-unit parts answered or past their due unanswered."""
        return self.parts_answered + self.parts_due_passed_unanswered


# Counts summed from a deadline compared with now, not from a column.
COMPUTED = ("due_passed_unreplied", "parts_due_passed_unanswered")


def _sums(now: dt.datetime) -> dict[str, Any]:
    names = [f.name for f in fields(Counts) if f.name not in COMPUTED]
    sums: dict[str, Any] = {name: Sum(name) for name in names}
    sums["due_passed_unreplied"] = Sum(
        Case(When(reply_due_open__lt=now, then=1), default=0, output_field=IntegerField())
    )
    sums["parts_due_passed_unanswered"] = Sum(
        Case(When(part_due_open__lt=now, then=1), default=0, output_field=IntegerField())
    )
    return sums


def _ratio(num: int, den: int) -> Fraction | None:
    return Fraction(num, den) if den else None


def rates(c: Counts) -> dict[str, Fraction | None]:
    """Every rate of ``docs/metrics.md`` as an exact fraction (None when the denominator is 0)."""
    return {
        "on_time_claim_rate": _ratio(c.claimed_on_time, c.dispatches),
        "return_rate": _ratio(c.returns, c.dispatches),
        "closure_rate": _ratio(c.closed, c.received),
        "on_time_reply_rate": _ratio(c.replied_on_time, c.reply_due),
        "participation_rate": _ratio(c.rated, c.visited),
        "satisfaction_rate": _ratio(c.satisfied, c.rated),
        "resolution_rate": _ratio(c.resolved, c.rated),
        "authenticity_rate": _ratio(c.authentic, c.rated),
        "rework_rate": _ratio(c.reworked, c.replied),
        "co_handling_rate": _ratio(c.parts_answered_on_time, c.parts_due),
        "on_spot_rate": _ratio(c.on_spot, c.replied),
    }


def score(r: Mapping[str, Fraction | None], scheme: ScoreScheme) -> Fraction | None:
    """The composite score in points (0–100): weighted mean of the three rates.

    None when a rate that carries weight has no denominator: such a unit is not ranked.
    """
    parts = [
        (Fraction(scheme.response_weight), r[scheme.response_metric]),
        (Fraction(scheme.resolution_weight), r["resolution_rate"]),
        (Fraction(scheme.satisfaction_weight), r["satisfaction_rate"]),
    ]
    total = sum((w for w, _r in parts), Fraction(0))
    if total <= 0 or any(w and value is None for w, value in parts):
        return None
    return 100 * sum((w * (value or 0) for w, value in parts), Fraction(0)) / total


def stars(points: float | None, scheme: ScoreScheme | VillageScheme) -> int | None:
    if points is None:
        return None
    for n, floor in ((5, scheme.star5_min), (4, scheme.star4_min), (3, scheme.star3_min)):
        if points >= float(floor):
            return n
    return 2 if points >= float(scheme.star2_min) else 1


def figures(c: Counts, scheme: ScoreScheme) -> dict[str, Any]:
    """The public shape of one set of counts: received, every rate as a float, score, counts."""
    r = rates(c)
    s = score(r, scheme)
    out: dict[str, Any] = {"received": c.received}
    out.update({name: (float(value) if value is not None else None) for name, value in r.items()})
    out["score"] = round(float(s), 2) if s is not None else None
    out["counts"] = {f.name: getattr(c, f.name) for f in fields(Counts)}
    return out


@dataclass
class Group:
    key: str | None
    name: str
    counts: Counts


def _label_maps(group_by: str, keys: Iterable[Any]) -> dict[Any, tuple[str | None, str]]:
    ids = [k for k in keys if k is not None]
    if group_by == "unit":
        return {u.pk: (u.code, u.name) for u in Unit.objects.filter(pk__in=ids)}
    if group_by == "region":
        return {r.pk: (r.code, r.name) for r in Region.objects.filter(pk__in=ids)}
    if group_by == "category":
        return {c.pk: (c.code, c.name) for c in Category.objects.filter(pk__in=ids)}
    if group_by == "channel":
        return {k: (k, str(Channel(k).label) if k in Channel.values else k) for k in ids}
    return {k: (k.isoformat(), k.isoformat()) for k in ids}  # day


COLUMN = {
    "unit": "unit_id",
    "region": "township_id",
    "category": "category_top_id",
    "channel": "channel",
    "day": "day",
}
NONE_LABEL = {
    "unit": gettext_lazy("Not dispatched"),
    "region": gettext_lazy("No township"),
    "category": gettext_lazy("Uncategorised"),
    "channel": "—",
    "day": "—",
}


def total(scope: Scope) -> Counts:
    facts.catch_up()
    return Counts.of(fact_rows(scope).aggregate(**_sums(clock.now())))


def _groups(group_by: str, rows: list[dict[str, Any]]) -> list[Group]:
    column = COLUMN[group_by]
    labels = _label_maps(group_by, [r[column] for r in rows])
    none = (None, str(NONE_LABEL[group_by]))
    out = []
    for row in rows:
        k = row[column]
        key, name = labels.get(k, none) if k is not None else none
        out.append(Group(key, name, Counts.of(row)))
    if group_by == "day":
        out.sort(key=lambda g: g.key or "")
    else:
        out.sort(key=lambda g: (-g.counts.received, g.key or "~"))
    return out


def grouped(scope: Scope, group_by: str) -> list[Group]:
    """Counts per unit / township / channel / top-level category / day, most received first."""
    facts.catch_up()
    column = COLUMN[group_by]
    rows = list(fact_rows(scope).values(column).annotate(**_sums(clock.now())).order_by(column))
    return _groups(group_by, rows)


def grouped_many(scope: Scope, dims: Sequence[str]) -> dict[str, list[Group]]:
    """Several groupings at once: one scan with GROUPING SETS on PostgreSQL."""
    return overview_counts(scope, dims)[2]


def overview_counts(
    scope: Scope, dims: Sequence[str]
) -> tuple[Counts, int, dict[str, list[Group]]]:
    """The total, the confidential reports among it, and several groupings — on PostgreSQL in
    one scan (``GROUPING SETS``), elsewhere one query each."""
    if connection.vendor != "postgresql":
        return total(scope), confidential_in(scope), {d: grouped(scope, d) for d in dims}
    facts.catch_up()
    cols = [COLUMN[d] for d in dims]
    names = [f.name for f in fields(Counts) if f.name not in COMPUTED]
    inner, params = (
        fact_rows(scope)
        .values(*cols, *names, "reply_due_open", "part_due_open", "kind", "lead")
        .query.sql_with_params()
    )
    sums = ", ".join(f"SUM(f.{n}) AS {n}" for n in names)
    flags = ", ".join(f"GROUPING(f.{c}) AS g_{c}" for c in cols)
    sets = ", ".join([*(f"(f.{c})" for c in cols), "()"])
    sql = (
        f"SELECT {', '.join('f.' + c for c in cols)}, {flags}, {sums}, "
        "SUM(CASE WHEN f.reply_due_open < %s THEN 1 ELSE 0 END) AS due_passed_unreplied, "
        "SUM(CASE WHEN f.part_due_open < %s THEN 1 ELSE 0 END) AS parts_due_passed_unanswered, "
        "SUM(CASE WHEN f.lead AND f.kind = %s THEN 1 ELSE 0 END) AS reports "
        f"FROM ({inner}) f GROUP BY GROUPING SETS ({sets})"
    )
    with connection.cursor() as cur:
        now = clock.now()
        cur.execute(sql, [now, now, "report", *params])
        head = [c[0] for c in cur.description]
        rows = [dict(zip(head, r, strict=True)) for r in cur.fetchall()]
    whole = [r for r in rows if all(r[f"g_{c}"] == 1 for c in cols)]
    counts = Counts.of(whole[0]) if whole else Counts()
    reports = int(whole[0]["reports"] or 0) if whole else 0
    groups = {d: _groups(d, [r for r in rows if r[f"g_{COLUMN[d]}"] == 0]) for d in dims}
    return counts, reports, groups


def metrics(scope: Scope, group_by: str | None = None) -> dict[str, Any]:
    """``{"total": {...}, "groups": [{"key", "name", ...}]}`` — the API's answer."""
    scheme = ScoreScheme.current()
    out: dict[str, Any] = {
        "from": scope.date_from,
        "to": scope.date_to,
        "total": figures(total(scope), scheme),
        "groups": [],
    }
    if group_by:
        out["groups"] = [
            {"key": g.key, "name": g.name, **figures(g.counts, scheme)}
            for g in grouped(scope, group_by)
        ]
    return out


# ----- rankings ----------------------------------------------------------------------------------


@dataclass
class Ranked:
    unit: Unit
    figures: dict[str, Any]
    rank: int | None
    stars: int | None
    previous_rank: int | None
    previous_score: float | None

    @property
    def rank_change(self) -> int | None:
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def score_change(self) -> float | None:
        current = self.figures["score"]
        if current is None or self.previous_score is None:
            return None
        return round(current - self.previous_score, 2)

    @property
    def change(self) -> int | None:
        """Places gained since the previous period of the same length (negative: lost)."""
        return self.rank_change

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit.code,
            "change": self.rank_change,
            "key": self.unit.code,
            "name": self.unit.name,
            "rank": self.rank,
            "stars": self.stars,
            "previous_rank": self.previous_rank,
            "rank_change": self.rank_change,
            "previous_score": self.previous_score,
            "score_change": self.score_change,
            **self.figures,
        }


def _rank(scores: dict[int, float | None]) -> dict[int, int | None]:
    """Competition ranking (1, 2, 2, 4) by score, highest first; unscored units are unranked."""
    ordered = sorted((s, pk) for pk, s in scores.items() if s is not None)
    ordered.reverse()
    ranks: dict[int, int | None] = {pk: None for pk in scores}
    previous: float | None = None
    rank = 0
    for position, (s, pk) in enumerate(ordered, start=1):
        if s != previous:
            rank = position
            previous = s
        ranks[pk] = rank
    return ranks


def _unit_counts(scope: Scope) -> dict[int, Counts]:
    facts.catch_up()
    rows = (
        fact_rows(scope).filter(unit__isnull=False).values("unit_id").annotate(**_sums(clock.now()))
    )
    return {r["unit_id"]: Counts.of(r) for r in rows}


def _unit_figures(scope: Scope, scheme: ScoreScheme) -> dict[int, dict[str, Any]]:
    return {pk: figures(c, scheme) for pk, c in _unit_counts(scope).items()}


# The kinds of unit the overview's bar charts group by (the rankings use the Tier rows).
TIERS = (
    (Unit.Kind.DEPARTMENT, gettext_lazy("Departments")),
    (Unit.Kind.TOWNSHIP, gettext_lazy("Townships and streets")),
    (Unit.Kind.VILLAGE, gettext_lazy("Villages and communities")),
    (Unit.Kind.GRID, gettext_lazy("Grids")),
)
LOCAL_TIERS = frozenset({Unit.Kind.VILLAGE, Unit.Kind.GRID})


def assessment_tiers(slug: str | None = None) -> list[Tier]:
    """The active tiers in order, or the one named ``slug`` (a 4xx naming ``tier`` if unknown)."""
    tiers = list(Tier.objects.filter(active=True).prefetch_related("members__region"))
    if not tiers and not Tier.objects.exists():
        tiers = default_tiers()  # a flushed database: the tiers migration 0008 seeds
    if not slug:
        return tiers
    found = [t for t in tiers if t.slug == slug]
    if not found:
        raise ValidationFailed.one(
            "tier",
            _("Unknown tier %(tier)r; one of: %(known)s.")
            % {"tier": slug, "known": ", ".join(t.slug for t in tiers)},
        )
    return found


def default_tiers() -> list[Tier]:
    """One tier per kind of unit, villages scored as 星级村 (unsaved: no listed members)."""
    return [
        Tier(
            slug=kind,
            name=str(label),
            kind=kind,
            scoring=Scoring.VILLAGE if kind == Unit.Kind.VILLAGE else Scoring.UNIT,
        )
        for kind, label in TIERS
    ]


def tier_units(tier: Tier) -> list[Unit]:
    """A tier's members: those listed (active ones), or else every active unit of its kind."""
    members = list(tier.members.all()) if tier.pk is not None else []
    if members:
        return sorted((u for u in members if u.active), key=lambda u: u.code)
    if not tier.kind:
        return []
    return list(
        Unit.objects.filter(kind=tier.kind, active=True).select_related("region").order_by("code")
    )


# ----- village score (星级村) ---------------------------------------------------------------------

VILLAGE_RATES = (
    ("closure_rate", "closure_weight"),
    ("on_time_reply_rate", "on_time_weight"),
    ("satisfaction_rate", "satisfaction_weight"),
    ("authenticity_rate", "authenticity_weight"),
    ("on_spot_rate", "on_spot_weight"),
)
# Counted per dispatch, not per appeal: not part of a village's figures.
DISPATCH_RATES = ("on_time_claim_rate", "return_rate", "co_handling_rate")


def village_score(r: Mapping[str, Fraction | None], vs: VillageScheme) -> Fraction | None:
    """The village score in points: the weighted mean of the five rates that have a
    denominator (the weights of the others are shared out); None with no appeal at all."""
    if r["closure_rate"] is None:
        return None
    parts = [(Fraction(getattr(vs, w)), r[name]) for name, w in VILLAGE_RATES]
    present = [(w, v) for w, v in parts if v is not None and w > 0]
    weight = sum((w for w, _v in present), Fraction(0))
    if weight <= 0:
        return None
    return 100 * sum((w * v for w, v in present), Fraction(0)) / weight


def village_figures(c: Counts, scheme: ScoreScheme, vs: VillageScheme) -> dict[str, Any]:
    out = figures(c, scheme)
    for name in DISPATCH_RATES:
        out[name] = None
    s = village_score(rates(c), vs)
    out["score"] = round(float(s), 2) if s is not None else None
    return out


def _add(a: Counts, b: Counts) -> Counts:
    return Counts(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(Counts)})


def _village_of_region(units: Sequence[Unit]) -> dict[int, int]:
    """Region id → the village unit whose region holds it (itself or up the parent chain)."""
    own = {u.region_id: u.pk for u in units if u.region_id is not None}
    parent = dict(Region.objects.values_list("pk", "parent_id"))
    out: dict[int, int] = {}
    for region_id in parent:
        at: int | None = region_id
        while at is not None and at not in own:
            at = parent.get(at)
        if at is not None:
            out[region_id] = own[at]
    return out


def _sub(a: Counts, b: Counts) -> Counts:
    return Counts(**{f.name: getattr(a, f.name) - getattr(b, f.name) for f in fields(Counts)})


def village_counts(scope: Scope, units: Sequence[Unit]) -> dict[int, Counts]:
    """Per village unit: the appeals it led or that arose in its region (each appeal once),
    confidential reports left out. Three small grouped queries over the lead fact rows: by
    region, by lead unit, and the appeals both led by a village and arising in it (counted
    twice by the first two, so taken off once)."""
    facts.catch_up()
    pks = [u.pk for u in units]
    of_region = _village_of_region(units)
    lead = fact_rows(scope).filter(lead=True).exclude(kind="report")
    sums = _sums(clock.now())
    out: dict[int, Counts] = {}

    def add(pk: int, counts: Counts, sign: int = 1) -> None:
        base = out.get(pk, Counts())
        out[pk] = _add(base, counts) if sign > 0 else _sub(base, counts)

    by_region = lead.filter(region_id__in=list(of_region)).values("region_id").annotate(**sums)
    for region_row in by_region.order_by():
        add(of_region[region_row["region_id"]], Counts.of(region_row))
    for unit_row in lead.filter(unit_id__in=pks).values("unit_id").annotate(**sums).order_by():
        add(unit_row["unit_id"], Counts.of(unit_row))
    both = Q(pk__in=[])
    for pk in pks:
        own = [r for r, v in of_region.items() if v == pk]
        if own:
            both |= Q(unit_id=pk, region_id__in=own)
    for twice in lead.filter(both).values("unit_id").annotate(**sums).order_by():
        add(twice["unit_id"], Counts.of(twice), -1)
    return {pk: c for pk, c in out.items() if any(getattr(c, f.name) for f in fields(Counts))}


def _sum_columns(alias: str) -> str:
    """The SQL sums of every counter of :class:`Counts` over rows ``alias``; two placeholders
    (now, now) for the counters compared with a deadline."""
    names = [f.name for f in fields(Counts) if f.name not in COMPUTED]
    return ", ".join(
        [
            *(f"SUM({alias}.{n}) AS {n}" for n in names),
            f"SUM(CASE WHEN {alias}.reply_due_open < %s THEN 1 ELSE 0 END) AS due_passed_unreplied",
            f"SUM(CASE WHEN {alias}.part_due_open < %s THEN 1 ELSE 0 END) "
            "AS parts_due_passed_unanswered",
        ]
    )


def unit_and_village_counts(
    scope: Scope, units: Sequence[Unit]
) -> tuple[dict[int, Counts], dict[int, Counts]]:
    """Every unit's counts (as ``_unit_figures`` sums them) and the village counts of ``units``
    (as :func:`village_counts`), from one scan of the period's fact rows on PostgreSQL.

    Each lead, non-confidential row also carries ``v``, the village whose region it arose in
    (a join with the region → village map). ``GROUPING SETS ((unit, ln, same), (v))`` then sums
    per unit — split by lead/non-confidential and by led-by-its-own-village — and per village
    of arising. A village's count is what arose in it plus what it led elsewhere. Elsewhere:
    the unit query and :func:`village_counts`, four queries."""
    if connection.vendor != "postgresql":
        return _unit_counts(scope), village_counts(scope, units)
    facts.catch_up()
    of_region = _village_of_region(units)
    inner, params = fact_rows(scope).query.sql_with_params()
    ln = "(f.lead AND f.kind <> %s)"
    sql = (
        "SELECT x.unit_id, x.ln, x.same, x.v, GROUPING(x.v) AS by_unit, "
        f"{_sum_columns('x')} FROM ("
        f"SELECT f.*, {ln} AS ln, CASE WHEN {ln} THEN rv.village_id END AS v, "
        f"COALESCE({ln} AND f.unit_id = rv.village_id, false) AS same "
        f"FROM ({inner}) f LEFT JOIN unnest(%s::bigint[], %s::bigint[]) "
        "AS rv(region_id, village_id) ON rv.region_id = f.region_id"
        ") x GROUP BY GROUPING SETS ((x.unit_id, x.ln, x.same), (x.v))"
    )
    now = clock.now()
    args = [
        now,
        now,
        "report",
        "report",
        "report",
        *params,
        list(of_region),
        list(of_region.values()),
    ]
    with connection.cursor() as cur:
        cur.execute(sql, args)
        head = [c[0] for c in cur.description]
        rows: list[dict[str, Any]] = [dict(zip(head, r, strict=True)) for r in cur.fetchall()]
    village_pks = {u.pk for u in units}
    per_unit: dict[int, Counts] = {}
    village: dict[int, Counts] = {}
    for row in rows:
        counts = Counts.of(row)
        if row["by_unit"] == 1:  # grouped by unit
            pk = row["unit_id"]
            if pk is None:
                continue
            per_unit[pk] = _add(per_unit.get(pk, Counts()), counts)
            if row["ln"] and not row["same"] and pk in village_pks:
                village[pk] = _add(village.get(pk, Counts()), counts)
        elif row["v"] is not None:  # grouped by the village of arising
            village[row["v"]] = _add(village.get(row["v"], Counts()), counts)
    return per_unit, village


# ----- rankings ----------------------------------------------------------------------------------


def _ranked_rows(
    units: list[Unit],
    current: dict[int, dict[str, Any]],
    before: dict[int, dict[str, Any]],
    empty: dict[str, Any],
    bands: ScoreScheme | VillageScheme,
) -> list[Ranked]:
    now_scores = {u.pk: current.get(u.pk, empty)["score"] for u in units}
    then_scores = {u.pk: before.get(u.pk, empty)["score"] for u in units}
    now_ranks, then_ranks = _rank(now_scores), _rank(then_scores)
    rows = [
        Ranked(
            unit=u,
            figures=current.get(u.pk, empty),
            rank=now_ranks[u.pk],
            stars=stars(now_scores[u.pk], bands),
            previous_rank=then_ranks[u.pk],
            previous_score=then_scores[u.pk],
        )
        for u in units
    ]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, -r.figures["received"], r.unit.code))
    return rows


class _Figures:
    """The figures of every unit for one period, computed once per kind of scoring (and, on
    PostgreSQL, the unit figures and the first village tier's from one scan)."""

    def __init__(self, period: Period, scheme: ScoreScheme, vs: VillageScheme) -> None:
        self.scope = Scope(period.start, period.end)
        self.scheme, self.vs = scheme, vs
        self._units: dict[int, dict[str, Any]] | None = None
        self._villages: dict[tuple[int, ...], dict[int, dict[str, Any]]] = {}

    def _village(self, units: list[Unit]) -> dict[int, dict[str, Any]]:
        key = tuple(u.pk for u in units)
        if key not in self._villages:
            if self._units is None:
                per_unit, counts = unit_and_village_counts(self.scope, units)
                self._units = {pk: figures(c, self.scheme) for pk, c in per_unit.items()}
            else:
                counts = village_counts(self.scope, units)
            self._villages[key] = {
                pk: village_figures(c, self.scheme, self.vs)
                for pk, c in counts.items()
                if any(getattr(c, f.name) for f in fields(Counts))
            }
        return self._villages[key]

    def of(self, tier: Tier, units: list[Unit]) -> dict[int, dict[str, Any]]:
        if tier.scoring == Scoring.VILLAGE:
            return self._village(units)
        if self._units is None:
            self._units = _unit_figures(self.scope, self.scheme)
        return self._units


def rankings(when: dt.date | Period, tier: str | None = None) -> dict[str, Any]:
    """Units ranked by score within each tier (or the one tier named), with the change since
    the previous period of the same length. A tier with no member is left out of the list of
    all tiers, but answered (empty) when asked for by name."""
    period = when if isinstance(when, Period) else periods.month(when)
    tiers = assessment_tiers(tier)
    scheme, vs = ScoreScheme.current(), VillageScheme.current()
    now, then = _Figures(period, scheme, vs), _Figures(period.previous(), scheme, vs)
    members = [(t, tier_units(t)) for t in tiers]
    first = next(((t, u) for t, u in members if u and t.scoring == Scoring.VILLAGE), None)
    if first is not None:  # first: the one scan that also gives every unit's figures
        now.of(*first)
        then.of(*first)
    out = []
    for t, units in members:
        if not units and tier is None:
            continue
        village = t.scoring == Scoring.VILLAGE
        empty = village_figures(Counts(), scheme, vs) if village else figures(Counts(), scheme)
        rows = _ranked_rows(
            units, now.of(t, units), then.of(t, units), empty, vs if village else scheme
        )
        out.append(
            {"kind": t.slug, "slug": t.slug, "name": t.name, "scoring": t.scoring, "units": rows}
        )
    return {
        "period": period.label,
        "period_kind": period.kind,
        "previous_period": period.previous().label,
        "month": period.label,
        "from": period.start,
        "to": period.end,
        "scheme": scheme_dict(scheme),
        "village_scheme": village_scheme_dict(vs),
        "tiers": out,
    }


def village_scheme_dict(vs: VillageScheme) -> dict[str, Any]:
    return {
        "weights": {name: float(getattr(vs, w)) for name, w in VILLAGE_RATES},
        "stars": {
            "5": float(vs.star5_min),
            "4": float(vs.star4_min),
            "3": float(vs.star3_min),
            "2": float(vs.star2_min),
        },
    }


def scheme_dict(scheme: ScoreScheme) -> dict[str, Any]:
    return {
        "response_metric": scheme.response_metric,
        "response_weight": float(scheme.response_weight),
        "resolution_weight": float(scheme.resolution_weight),
        "satisfaction_weight": float(scheme.satisfaction_weight),
        "stars": {
            "5": float(scheme.star5_min),
            "4": float(scheme.star4_min),
            "3": float(scheme.star3_min),
            "2": float(scheme.star2_min),
        },
    }


def response_label(scheme: ScoreScheme) -> str:
    return str(ResponseMetric(scheme.response_metric).label)


def confidential_in(scope: Scope) -> int:
    """Confidential reports counted in the figures (they are hidden from most ledgers)."""
    facts.catch_up()
    return fact_rows(scope).filter(Q(kind="report"), lead=True).count()
