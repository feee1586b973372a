"""Role-scoped reads of the routing domain: similar appeals, hot issues, override counts."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import CONFIDENTIAL_KINDS, Appeal, Category, Status
from kuaiban.appeals.selectors import visible_appeals
from kuaiban.appeals.services import JOINABLE
from kuaiban.core import validation
from kuaiban.core.errors import PermissionDenied, ValidationFailed
from kuaiban.core.validation import check_year
from kuaiban.org.models import Region, Role, Unit, User
from kuaiban.routing import runtime, similar, training
from kuaiban.routing.classifier import appeal_text
from kuaiban.routing.hot import compare_periods, group_hot_issues
from kuaiban.routing.models import RoutingSettings, Suggestion

SIMILAR_K = 8
HOT_MAX_DAYS = 366
HOT_MAX_APPEALS = 200_000
HOT_CACHE_SECONDS = 300
HOT_APPEALS_SHOWN = 50
# Roles that may see hot issues and the override counts (handlers are refused: see docs).
HOT_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.LEADER, Role.ADMIN, Role.VISITOR})
OVERRIDE_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.LEADER, Role.ADMIN})


def current_settings() -> RoutingSettings:
    """The administrator's routing settings (the defaults until someone saves them)."""
    return RoutingSettings.objects.filter(pk=1).first() or RoutingSettings(pk=1)


def category_codes() -> dict[str, str]:
    """First-level category name → code (to fill the intake form's category field)."""
    return dict(Category.objects.filter(level=1).values_list("name", "code"))


def top_category_of(code: str | None, field_name: str = "category") -> str | None:
    """The first-level category name of a category code (None for none; unknown: a 400)."""
    if not code:
        return None
    found = Category.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationFailed.one(field_name, _("Unknown category %(code)r.") % {"code": code})
    return training.top_category_names().get(found)


# ----- similar appeals ----------------------------------------------------------------------------


@dataclass
class SimilarAppeal:
    appeal: Appeal
    score: float
    same_region: bool


def similar_appeals(
    *,
    user: User,
    text: str,
    region_id: int | None = None,
    exclude_id: int | None = None,
    k: int = SIMILAR_K,
) -> list[SimilarAppeal]:
    """The most similar appeals of the last 90 days that ``user`` may see, most similar first
    (same township first among equal scores); merged and invalid appeals left out. The role
    filter applies to the lookup's whole candidate list (up to ``similar.CANDIDATES``), not to
    its first ``k``."""
    if policy.visible_q(user) is None or not text.strip():
        return []
    hits = similar.search(text, exclude_id=exclude_id)
    if not hits:
        return []
    scores = dict(hits)
    rows = (
        visible_appeals(user)
        .filter(pk__in=list(scores))
        .exclude(status__in=[Status.MERGED, Status.INVALID])
        .select_related("region", "lead_unit")
    )
    home = runtime.regions.township(region_id)
    found = [
        SimilarAppeal(
            a,
            float(scores[a.pk]),
            home is not None and runtime.regions.township(a.region_id) == home,
        )
        for a in rows
    ]
    # The lookup's best first (same township breaks ties): a list read top to bottom must not
    # show 0.31 above 0.82. The same-township mark is shown beside each score.
    found.sort(key=lambda s: (-round(s.score, 4), not s.same_region, -s.appeal.pk))
    return found[:k]


def similar_to_appeal(*, user: User, appeal: Appeal, k: int = SIMILAR_K) -> list[SimilarAppeal]:
    return similar_appeals(
        user=user,
        text=appeal_text(appeal.title, appeal.content),
        region_id=appeal.region_id,
        exclude_id=appeal.pk,
        k=k,
    )


# ----- the public duplicate prompt ("这些是您要反映的问题吗?") ----------------------------------

PUBLIC_SIMILAR_K = 5
# A person's point and a candidate's point farther apart than this: not the same problem.
PUBLIC_SIMILAR_RADIUS_M = 1500.0
PUBLIC_SIMILAR_MIN_SCORE = 0.15


def metres_between(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine) on a 6,371 km sphere: enough to tell 100 m from 2 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(h)))


@dataclass
class PublicSimilar:
    appeal: Appeal
    score: float
    metres: float | None  # from the person's point, when both have one


def public_similar(
    *, text: str, lat: float | None = None, lng: float | None = None, k: int = PUBLIC_SIMILAR_K
) -> list[PublicSimilar]:
    """Open appeals anyone may join that read like ``text`` and, when a point is given, lie
    within ``PUBLIC_SIMILAR_RADIUS_M`` of it (those without a point are kept, after the near
    ones). Never a confidential kind, nor one closed, merged or invalid: the public prompt shows
    only what the public tracking page would, and only what can still be joined."""
    hits = similar.search(text, min_score=PUBLIC_SIMILAR_MIN_SCORE)
    if not hits:
        return []
    scores = dict(hits)
    rows = (
        Appeal.objects.filter(pk__in=list(scores), status__in=list(JOINABLE))
        .exclude(kind__in=list(CONFIDENTIAL_KINDS))
        .select_related("category", "lead_unit")
    )
    found = []
    for a in rows:
        metres = None
        if lat is not None and lng is not None and a.lat is not None and a.lng is not None:
            metres = metres_between(lat, lng, float(a.lat), float(a.lng))
            if metres > PUBLIC_SIMILAR_RADIUS_M:
                continue
        found.append(PublicSimilar(a, float(scores[a.pk]), metres))
    found.sort(key=lambda s: (s.metres is None, -s.score, -s.appeal.pk))
    return found[:k]


# ----- hot issues ---------------------------------------------------------------------------------


@dataclass
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return start, end


def period_from(
    date_from: dt.date | None, date_to: dt.date | None, *, default_days: int = 7
) -> Period:
    """A period of whole days; missing ends default to the last ``default_days`` days."""
    for name, day in (("from", date_from), ("to", date_to)):
        if day is not None:  # the previous period and the day after the end must be dates too
            check_year(day.year, name)
    today = timezone.localdate()
    end = date_to or (date_from + dt.timedelta(days=default_days - 1) if date_from else today)
    start = date_from or end - dt.timedelta(days=default_days - 1)
    if start > end:
        raise ValidationFailed.one("from", _("The period must start on or before its end."))
    if (end - start).days + 1 > HOT_MAX_DAYS:
        raise ValidationFailed.one(
            "to", _("A period of at most %(days)d days.") % {"days": HOT_MAX_DAYS}
        )
    return Period(start, end)


def parse_day(value: str | None, field_name: str) -> dt.date | None:
    return validation.parse_day(value, field_name)


@dataclass
class Share:
    code: str
    name: str
    count: int


@dataclass
class Issue:
    label: str
    terms: tuple[str, ...]
    size: int
    previous_size: int | None
    growth: float | None
    cohesion: float
    regions: list[Share]
    units: list[Share]
    appeals: list[Appeal]

    @property
    def is_new(self) -> bool:
        return self.previous_size is None


@dataclass
class HotReport:
    period: Period
    previous: Period
    n_appeals: int
    n_previous: int
    issues: list[Issue] = field(default_factory=list)


def hot_scope(user: User) -> Q:
    """The appeals whose hot issues ``user`` may see; PermissionDenied for everyone else."""
    q = policy.visible_q(user)
    if q is None or user.role not in HOT_ROLES:
        raise PermissionDenied(_("Hot issues are for the hotline's staff, not for units."))
    return q


def _period_appeals(q: Q, period: Period) -> Any:
    start, end = period.bounds()
    return (
        Appeal.objects.filter(q, received_at__gte=start, received_at__lt=end)
        .exclude(status=Status.INVALID)
        .order_by("pk")
    )


def _grouping(q: Q, scope: str, period: Period) -> tuple[list[Any], int, int]:
    """(trends, appeals in the period, appeals in the previous period), cached for a few
    minutes per scope, period and ledger state."""
    current = _period_appeals(q, period)
    previous = _period_appeals(q, period.previous())
    state = current.aggregate(n=Count("pk"), last=Max("pk"), touched=Max("updated_at"))
    before = previous.aggregate(n=Count("pk"), last=Max("pk"))
    if state["n"] > HOT_MAX_APPEALS:
        raise ValidationFailed.one(
            "to",
            _(
                "%(n)d appeals in this period: choose a shorter one (at most %(max)d appeals), "
                "or use `kuaiban hot`."
            )
            % {"n": state["n"], "max": HOT_MAX_APPEALS},
        )
    raw = ":".join(
        str(x)
        for x in (
            scope,
            period.start,
            period.end,
            state["n"],
            state["last"],
            state["touched"],
            before["n"],
            before["last"],
        )
    )
    key = "routing:hot:" + hashlib.sha256(raw.encode()).hexdigest()
    found = cache.get(key)
    if found is not None:
        return found

    def items(qs: Any) -> list[tuple[int, str, None]]:
        return [
            (pk, appeal_text(t, c), None) for pk, t, c in qs.values_list("pk", "title", "content")
        ]

    trends = compare_periods(group_hot_issues(items(current)), group_hot_issues(items(previous)))
    result = (trends, state["n"], before["n"])
    cache.set(key, result, HOT_CACHE_SECONDS)
    return result


def _shares(counter: Counter[int | None], names: dict[int, tuple[str, str]]) -> list[Share]:
    return [
        Share(names[pk][0], names[pk][1], n)
        for pk, n in counter.most_common()
        if pk is not None and pk in names
    ]


ISSUE_LABEL_CANDIDATES = 5
ISSUE_LABEL_MAX = 40


def issue_label(members: list[Appeal], terms: tuple[str, ...], fallback: str) -> str:
    """An issue's label read as a phrase: the title of one of its most central appeals, the one
    naming most of the issue's key terms (the more central on a tie), so place names stay whole
    (阳光花园) and no filler word (家里, 有人) stands alone. ``fallback`` (the key terms) when
    none of those appeals has a title naming a term."""
    best, best_hits = "", 0
    for appeal in members[:ISSUE_LABEL_CANDIDATES]:
        title = " ".join((appeal.title or "").split())
        hits = sum(1 for term in terms if term and term in title)
        if hits > best_hits:
            best, best_hits = title, hits
    if not best:
        return fallback
    return best if len(best) <= ISSUE_LABEL_MAX else best[: ISSUE_LABEL_MAX - 1] + "…"


def hot_issues(*, user: User, period: Period, appeals_shown: int = HOT_APPEALS_SHOWN) -> HotReport:
    """The period's appeals grouped into issues, biggest first, with growth against the period
    of the same length just before."""
    q = hot_scope(user)
    scope = "all" if user.role in policy.SEE_ALL else "public"
    trends, n, n_before = _grouping(q, scope, period)
    report = HotReport(period, period.previous(), n, n_before)
    if not trends:
        return report
    member_ids = {pk for t in trends for pk in t.issue.member_ids}
    rows = {
        a.pk: a
        for a in Appeal.objects.filter(pk__in=member_ids).select_related("region", "lead_unit")
    }
    townships = {pk: (r.code, r.name) for pk, r in Region.objects.in_bulk().items()}
    units = {u.pk: (u.code, u.name) for u in Unit.objects.all()}
    for trend in trends:
        members = [rows[pk] for pk in trend.issue.member_ids if pk in rows]
        region_counts: Counter[int | None] = Counter(
            runtime.regions.township(a.region_id) for a in members
        )
        unit_counts: Counter[int | None] = Counter(a.lead_unit_id for a in members)
        report.issues.append(
            Issue(
                label=issue_label(members, trend.issue.terms, trend.issue.label),
                terms=trend.issue.terms,
                size=trend.issue.size,
                previous_size=trend.previous.size if trend.previous else None,
                growth=trend.growth,
                cohesion=trend.issue.cohesion,
                regions=_shares(region_counts, townships),
                units=_shares(unit_counts, units),
                appeals=members[:appeals_shown],
            )
        )
    return report


# ----- suggestions overridden ---------------------------------------------------------------------


@dataclass
class OverrideRow:
    code: str
    name: str
    suggested: int
    dispatched: int
    followed: int
    overridden: int
    auto: int

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.dispatched if self.dispatched else None


@dataclass
class OverrideReport:
    period: Period
    totals: OverrideRow
    units: list[OverrideRow]


def override_counts(*, user: User, period: Period) -> OverrideReport:
    """Per suggested unit: how many suggestions, how many operators dispatched, followed or
    overrode, and how many the system dispatched automatically."""
    if not user.is_active or user.role not in OVERRIDE_ROLES:
        raise PermissionDenied(_("Your role may not see these counts."))
    start, end = period.bounds()
    rows = (
        Suggestion.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("top_unit_id", "top_unit__code", "top_unit__name")
        .annotate(
            suggested=Count("pk"),
            dispatched=Count("pk", filter=Q(dispatched_at__isnull=False)),
            followed=Count("pk", filter=Q(overridden=False)),
            overridden=Count("pk", filter=Q(overridden=True)),
            auto=Count("pk", filter=Q(auto_at__isnull=False)),
        )
        .order_by("-suggested", "top_unit__code")
    )
    units = [
        OverrideRow(
            r["top_unit__code"] or "",
            r["top_unit__name"] or "—",
            r["suggested"],
            r["dispatched"],
            r["followed"],
            r["overridden"],
            r["auto"],
        )
        for r in rows
    ]
    totals = OverrideRow(
        "",
        _("All units"),
        *(
            sum(getattr(u, f) for u in units)
            for f in ("suggested", "dispatched", "followed", "overridden", "auto")
        ),
    )
    return OverrideReport(period, totals, units)


# ----- weekly accuracy of the lead-unit suggestion --------------------------------------------


@dataclass
class AccuracyWeek:
    week: dt.date  # the Monday
    suggested: int  # suggestions with a top unit recorded that week
    finished: int  # of those, appeals replied to by now (their lead unit is final)
    top1: int  # the suggested unit is the unit that finally handled the appeal
    top3: int  # that unit is among the three suggested

    @property
    def accuracy(self) -> float | None:
        return self.top1 / self.finished if self.finished else None

    @property
    def accuracy_at_3(self) -> float | None:
        return self.top3 / self.finished if self.finished else None


@dataclass
class AccuracyReport:
    period: Period
    totals: AccuracyWeek
    weeks: list[AccuracyWeek]


def suggestion_accuracy(*, user: User, period: Period) -> AccuracyReport:
    """Per week of the suggestions recorded in ``period``: how often the suggested lead unit is
    the unit that finally handled the appeal (its lead once replied to: a returned dispatch
    does not count). Appeals not yet replied to, merged or invalid are not scored."""
    if not user.is_active or user.role not in OVERRIDE_ROLES:
        raise PermissionDenied(_("Your role may not see these counts."))
    start, end = period.bounds()
    rows = Suggestion.objects.filter(
        created_at__gte=start, created_at__lt=end, top_unit__isnull=False
    ).values_list("created_at", "top_unit_id", "units", "appeal__status", "appeal__lead_unit__code")
    finished_states = {Status.REPLIED, Status.VISITED, Status.CLOSED}
    by_week: dict[dt.date, list[int]] = {}
    top_codes = dict(Unit.objects.values_list("pk", "code"))
    for at, top_id, units, status, final in rows.iterator():
        day = timezone.localtime(at).date()
        counts = by_week.setdefault(day - dt.timedelta(days=day.weekday()), [0, 0, 0, 0])
        counts[0] += 1
        if status not in finished_states or not final:
            continue
        counts[1] += 1
        counts[2] += top_codes.get(top_id) == final
        counts[3] += final in [u[0] for u in (units or [])[:3]]
    weeks = [AccuracyWeek(week, *by_week[week]) for week in sorted(by_week)]
    totals = AccuracyWeek(
        period.start,
        *(sum(getattr(w, f) for w in weeks) for f in ("suggested", "finished", "top1", "top3")),
    )
    return AccuracyReport(period, totals, weeks)
