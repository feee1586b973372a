"""Writes of the monthly themes (每月一题): create a theme from a hot issue or a search and link
its appeals, match new appeals after commit, review links, progress reports, close.

The matching rule (docs/themes.md): an appeal is eligible for a theme when it is not a
confidential kind, not invalid, received on or after the first day of the baseline window, and
lies in the theme's category and township (an appeal without a category or region passes that
check). Eligible appeals are linked when they are a member of the hot issue, match the search
(every folded word in the appeal's text, as the ledger's search), or read like an appeal already
linked (routing's similar-appeal search, score >= ``MATCH_SCORE``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    Action,
    Appeal,
    AppealEvent,
    Category,
    Status,
)
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.core.text import fold
from kuaiban.core.validation import check_date, check_id, clean_text, parse_month
from kuaiban.org.models import Region, Unit, User
from kuaiban.routing import runtime, similar
from kuaiban.routing import selectors as routing
from kuaiban.routing.classifier import appeal_text
from kuaiban.themes import rules
from kuaiban.themes.models import Theme, ThemeLink, ThemeReport

log = logging.getLogger(__name__)

BASELINE_MONTHS = 3
MATCH_SCORE = 0.2
MAX_MONTHS = 12
MAX_CO_UNITS = 10
TITLE_MAX = 200
QUERY_MAX = 200
TEXT_MAX = 4000
SEED_MAX = 5000  # appeals a search may link at once
SIMILAR_SEEDS = 50  # the most recent seeds whose look-alikes are linked at creation
HOT_MEMBERS_MAX = 10_000
HOT_DEFAULT_DAYS = 7
# A derived category or township must cover at least this share of the hot issue's members.
MAJORITY = 0.5


def add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``day``'s (n may be negative)."""
    index = day.year * 12 + day.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def today() -> dt.date:
    return timezone.localdate(clock.now())


def baseline_start(theme: Theme) -> dt.date:
    return add_months(theme.start, -BASELINE_MONTHS)


# ----- input --------------------------------------------------------------------------------------


@dataclass
class HotIssueRef:
    """A hot issue by its label in a period (default: the last ``HOT_DEFAULT_DAYS`` days, as the
    hot-issue page shows)."""

    label: str
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass
class ThemeInput:
    title: str
    lead_unit: str
    target_pct: int
    months: int
    co_units: list[str] = field(default_factory=list)
    hot_issue: HotIssueRef | None = None
    query: str | None = None
    category: str | None = None  # a category code: only appeals of it (or below)
    region: str | None = None  # a township code: only appeals there
    start: str | None = None  # YYYY-MM, default: this month


@dataclass
class _Clean:
    title: str
    lead: Unit
    co: list[Unit]
    target_pct: int
    months: int
    start: dt.date
    hot: HotIssueRef | None
    query: str
    category: Category | None
    region: Region | None


def _text(value: str | None, name: str, limit: int, errors: list[FieldError]) -> str:
    text = clean_text((value or "").strip(), name)
    if not text:
        errors.append(FieldError(name, _("This field is required.")))
    elif len(text) > limit:
        errors.append(FieldError(name, _("At most %(n)d characters.") % {"n": limit}))
    return text


def _units(data: ThemeInput, errors: list[FieldError]) -> tuple[Unit | None, list[Unit]]:
    codes = [data.lead_unit, *data.co_units]
    found = {u.code: u for u in Unit.objects.filter(code__in=codes, active=True)}
    lead = found.get(data.lead_unit)
    if lead is None:
        errors.append(
            FieldError("lead_unit", _("Unknown unit %(code)r.") % {"code": data.lead_unit})
        )
    co: list[Unit] = []
    if len(data.co_units) > MAX_CO_UNITS:
        errors.append(FieldError("co_units", _("At most %(n)d co-units.") % {"n": MAX_CO_UNITS}))
    for code in data.co_units:
        unit = found.get(code)
        if unit is None:
            errors.append(FieldError("co_units", _("Unknown unit %(code)r.") % {"code": code}))
        elif unit == lead or unit in co:
            errors.append(FieldError("co_units", _("%(code)s is named twice.") % {"code": code}))
        else:
            co.append(unit)
    return lead, co


def _source(data: ThemeInput, errors: list[FieldError]) -> tuple[HotIssueRef | None, str]:
    hot, query = data.hot_issue, (data.query or "").strip()
    if (hot is None) == (not query):
        message = (
            _("Give either a hot issue or a search, not both.")
            if hot
            else _("Give a hot issue or a search.")
        )
        errors.extend([FieldError("hot_issue", message), FieldError("query", message)])
        return None, ""
    if hot is not None:
        label = clean_text(hot.label.strip(), "hot_issue")
        if not label or len(label) > TITLE_MAX:
            errors.append(FieldError("hot_issue", _("Give the hot issue's label.")))
        return HotIssueRef(label, hot.date_from, hot.date_to), ""
    query = clean_text(query, "query")
    if len(query) > QUERY_MAX:
        errors.append(FieldError("query", _("At most %(n)d characters.") % {"n": QUERY_MAX}))
    return None, query


def _scope(data: ThemeInput, errors: list[FieldError]) -> tuple[Category | None, Region | None]:
    category = region = None
    if data.category:
        category = Category.objects.filter(code=data.category).first()
        if category is None:
            errors.append(
                FieldError("category", _("Unknown category %(code)r.") % {"code": data.category})
            )
    if data.region:
        region = Region.objects.filter(code=data.region).first()
        if region is None or region.level != Region.Level.TOWNSHIP:
            errors.append(
                FieldError("region", _("Not a township code: %(code)r.") % {"code": data.region})
            )
            region = None
    return category, region


def _start(value: str | None, errors: list[FieldError]) -> dt.date:
    this_month = today().replace(day=1)
    try:
        start = parse_month(value, "start") or this_month
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        return this_month
    if not add_months(this_month, -MAX_MONTHS) <= start <= add_months(this_month, MAX_MONTHS):
        errors.append(
            FieldError("start", _("Within %(n)d months of this month.") % {"n": MAX_MONTHS})
        )
    return start


def clean_input(data: ThemeInput) -> _Clean:
    """Every field checked, all problems reported at once (400, each naming its field)."""
    errors: list[FieldError] = []
    title = _text(data.title, "title", TITLE_MAX, errors)
    lead, co = _units(data, errors)
    if not 1 <= data.target_pct <= 100:
        errors.append(FieldError("target_pct", _("A whole percentage from 1 to 100.")))
    if not 1 <= data.months <= MAX_MONTHS:
        errors.append(FieldError("months", _("From 1 to %(n)d months.") % {"n": MAX_MONTHS}))
    hot, query = _source(data, errors)
    category, region = _scope(data, errors)
    start = _start(data.start, errors)
    if errors or lead is None:
        raise ValidationFailed(errors)
    return _Clean(
        title, lead, co, data.target_pct, data.months, start, hot, query, category, region
    )


# ----- which appeals belong -----------------------------------------------------------------------


def _subtree(model: Any, root_id: int) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent in model.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    out, todo = {root_id}, [root_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def eligible(theme: Theme) -> QuerySet[Appeal]:
    """The appeals a theme may link (before any text is compared)."""
    qs = (
        Appeal.objects.exclude(kind__in=list(CONFIDENTIAL_KINDS))
        .exclude(status=Status.INVALID)
        .filter(received_at__gte=local_midnight(baseline_start(theme)))
    )
    if theme.category_id is not None:
        ids = _subtree(Category, theme.category_id)
        qs = qs.filter(Q(category__isnull=True) | Q(category_id__in=ids))
    if theme.region_id is not None:
        ids = _subtree(Region, theme.region_id)
        qs = qs.filter(Q(region__isnull=True) | Q(region_id__in=ids))
    return qs


def query_q(query: str) -> Q:
    """The ledger's search: every folded word contained in the appeal's folded text."""
    q = Q()
    for word in fold(query).split():
        q &= Q(search_text__contains=word)
    return q


def _hot_members(actor: User, ref: HotIssueRef) -> list[Appeal]:
    end = ref.date_to or (
        ref.date_from + dt.timedelta(days=HOT_DEFAULT_DAYS - 1) if ref.date_from else today()
    )
    begin = ref.date_from or end - dt.timedelta(days=HOT_DEFAULT_DAYS - 1)
    try:
        period = routing.period_from(begin, end)
        report = routing.hot_issues(user=actor, period=period, appeals_shown=HOT_MEMBERS_MAX)
    except ValidationFailed as exc:
        raise ValidationFailed.one("hot_issue", str(exc.message)) from None
    for issue in report.issues:
        if issue.label == ref.label:
            return issue.appeals
    raise ValidationFailed.one(
        "hot_issue",
        _("No hot issue labelled %(label)r from %(start)s to %(end)s.")
        % {"label": ref.label, "start": period.start, "end": period.end},
    )


def _majority(values: Iterable[int | None]) -> int | None:
    counted = Counter(values)
    total = sum(counted.values())
    best = next((v for v, n in counted.most_common() if v is not None), None)
    return best if best is not None and counted[best] >= MAJORITY * total else None


def _derive_scope(theme: Theme, members: list[Appeal]) -> None:
    """A hot issue's theme takes the first-level category and the township most of its members
    share (at least ``MAJORITY``), unless the supervisor named them."""
    if theme.category_id is None:
        parents = dict(Category.objects.values_list("pk", "parent_id"))

        def top(pk: int | None) -> int | None:
            while pk is not None and parents.get(pk) is not None:
                pk = parents[pk]
            return pk

        theme.category_id = _majority(top(a.category_id) for a in members)
    if theme.region_id is None:
        township = _majority(runtime.regions.township(a.region_id) for a in members)
        if (
            township is not None
            and Region.objects.filter(pk=township, level=Region.Level.TOWNSHIP).exists()
        ):
            theme.region_id = township


def _look_alikes(theme: Theme, seeds: list[tuple[int, str]]) -> dict[int, float]:
    """Appeals like one of ``seeds`` (id, text), best score each."""
    since = local_midnight(baseline_start(theme))
    best: dict[int, float] = {}
    for pk, text in seeds:
        for hit, score in similar.search(text, since=since, exclude_id=pk, min_score=MATCH_SCORE):
            best[hit] = max(score, best.get(hit, 0.0))
    return best


def _link(theme: Theme, found: dict[int, tuple[str, float | None]]) -> int:
    """Link the eligible ones of ``found`` (appeal id → (source, score)); already linked stay."""
    if not found:
        return 0
    ok = set(eligible(theme).filter(pk__in=list(found)).values_list("pk", flat=True))
    done = set(
        ThemeLink.objects.filter(theme=theme, appeal_id__in=ok).values_list("appeal_id", flat=True)
    )
    now = clock.now()
    rows = [
        ThemeLink(theme=theme, appeal_id=pk, source=found[pk][0], score=found[pk][1], linked_at=now)
        for pk in sorted(ok - done)
    ]
    ThemeLink.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _seeds(actor: User, theme: Theme, clean: _Clean) -> dict[int, tuple[str, float | None]]:
    if clean.hot is not None:
        members = _hot_members(actor, clean.hot)
        _derive_scope(theme, members)
        return {a.pk: (ThemeLink.Source.HOT, None) for a in members}
    pks = (
        eligible(theme)
        .filter(query_q(clean.query))
        .order_by("-received_at", "-id")
        .values_list("pk", flat=True)[:SEED_MAX]
    )
    return {pk: (ThemeLink.Source.QUERY, None) for pk in pks}


# ----- writes -------------------------------------------------------------------------------------


def theme_create(*, actor: User, data: ThemeInput) -> Theme:
    """A supervisor's new theme with its first links: the hot issue's members (or the search's
    matches) and the appeals that read like the most recent of them."""
    if not rules.manages(actor):
        raise PermissionDenied(_("Only a supervisor or an administrator sets monthly themes."))
    clean = clean_input(data)
    with transaction.atomic():
        theme = Theme(
            title=clean.title,
            lead_unit=clean.lead,
            target_pct=clean.target_pct,
            months=clean.months,
            start=clean.start,
            source=Theme.Source.HOT if clean.hot else Theme.Source.QUERY,
            query=clean.query,
            hot_label=clean.hot.label if clean.hot else "",
            category=clean.category,
            region=clean.region,
            created_by=actor,
            created_at=clock.now(),
        )
        seeds = _seeds(actor, theme, clean)
        if clean.hot is not None:
            theme.hot_from, theme.hot_to = clean.hot.date_from, clean.hot.date_to
        theme.save()
        theme.co_units.set(clean.co)
        _link(theme, seeds)
        recent = (
            ThemeLink.objects.filter(theme=theme)
            .order_by("-appeal__received_at", "-appeal_id")
            .values_list("appeal_id", "appeal__title", "appeal__content")[:SIMILAR_SEEDS]
        )
        alike = _look_alikes(theme, [(pk, appeal_text(t, c)) for pk, t, c in recent])
        _link(theme, {pk: (ThemeLink.Source.SIMILAR, s) for pk, s in alike.items()})
    return theme


def _locked(theme_id: int) -> Theme:
    check_id(theme_id, "theme_id")
    theme = Theme.objects.select_for_update().filter(pk=theme_id).first()
    if theme is None:
        raise NotFound(_("No such theme."))
    return theme


def _readable(actor: User, theme: Theme) -> None:
    if rules.reads_all(actor):
        return
    units = {theme.lead_unit_id, *theme.co_units.values_list("pk", flat=True)}
    if not (actor.is_active and actor.unit_id in units):
        raise NotFound(_("No such theme."))


def _open(theme: Theme) -> None:
    if theme.status != Theme.Status.OPEN:
        raise Conflict(_("This theme is closed."), code="closed")


@transaction.atomic
def link_review(*, actor: User, theme_id: int, number: str, decision: str) -> ThemeLink:
    """Confirm or reject one link (a rejected link does not count); by a supervisor or a
    handler of the lead unit, for an appeal they may open."""
    theme = _locked(theme_id)
    _readable(actor, theme)
    if not (rules.manages(actor) or rules.leads(actor, theme.lead_unit_id)):
        raise PermissionDenied(_("Only a supervisor or the lead unit reviews the links."))
    if decision not in (ThemeLink.State.CONFIRMED, ThemeLink.State.REJECTED):
        raise ValidationFailed.one("decision", _("Either confirmed or rejected."))
    _open(theme)
    link = ThemeLink.objects.select_related("appeal").filter(theme=theme, appeal__number=number)
    found = link.first()
    if found is None or not policy.can_see(actor, found.appeal):
        raise NotFound(_("This appeal is not linked to the theme."))
    found.state = decision
    found.reviewed_by = actor
    found.reviewed_at = clock.now()
    found.save(update_fields=["state", "reviewed_by", "reviewed_at"])
    return found


@transaction.atomic
def report_add(*, actor: User, theme_id: int, text: str, on: dt.date | None = None) -> ThemeReport:
    """The lead unit's progress report (its own words, shown publicly with numbers masked)."""
    theme = _locked(theme_id)
    _readable(actor, theme)
    if not rules.leads(actor, theme.lead_unit_id):
        raise PermissionDenied(_("Only the lead unit's handlers report progress."))
    _open(theme)
    errors: list[FieldError] = []
    body = _text(text, "text", TEXT_MAX, errors)
    day = on or today()
    check_date(day, "on")
    if day > today() or day < theme.created_at.date() - dt.timedelta(days=1):
        errors.append(FieldError("on", _("A day between the theme's creation and today.")))
    if errors:
        raise ValidationFailed(errors)
    return ThemeReport.objects.create(
        theme=theme, on=day, text=body, author=actor, created_at=clock.now()
    )


@transaction.atomic
def theme_close(*, actor: User, theme_id: int, measure: str) -> Theme:
    """Closed with the root-cause measure; no more links, reviews or reports after."""
    theme = _locked(theme_id)
    _readable(actor, theme)
    if not rules.manages(actor):
        raise PermissionDenied(_("Only a supervisor or an administrator closes a theme."))
    _open(theme)
    errors: list[FieldError] = []
    theme.measure = _text(measure, "measure", TEXT_MAX, errors)
    if errors:
        raise ValidationFailed(errors)
    theme.status = Theme.Status.CLOSED
    theme.closed_by = actor
    theme.closed_at = clock.now()
    theme.save(update_fields=["measure", "status", "closed_by", "closed_at"])
    return theme


# ----- the ledger's hook --------------------------------------------------------------------------


def match_appeal(appeal: Appeal) -> list[int]:
    """Link a new appeal to every open theme it belongs to; the themes' ids."""
    if appeal.kind in CONFIDENTIAL_KINDS or appeal.status == Status.INVALID:
        return []
    themes = [
        t
        for t in Theme.objects.filter(status=Theme.Status.OPEN)
        if eligible(t).filter(pk=appeal.pk).exists()
    ]
    if not themes:
        return []
    since = local_midnight(min(baseline_start(t) for t in themes))
    text = appeal_text(appeal.title, appeal.content)
    hits = dict(similar.search(text, since=since, exclude_id=appeal.pk, min_score=MATCH_SCORE))
    best: dict[int, float] = {}
    for theme_id, pk in (
        ThemeLink.objects.filter(theme__in=themes, appeal_id__in=list(hits))
        .exclude(state=ThemeLink.State.REJECTED)
        .values_list("theme_id", "appeal_id")
    ):
        best[theme_id] = max(hits[pk], best.get(theme_id, 0.0))
    linked = []
    for theme in themes:
        by_query = bool(theme.query) and (
            Appeal.objects.filter(query_q(theme.query), pk=appeal.pk).exists()
        )
        found: dict[int, tuple[str, float | None]] = {
            appeal.pk: (ThemeLink.Source.AUTO, best.get(theme.pk))
        }
        if (theme.pk in best or by_query) and _link(theme, found):
            linked.append(theme.pk)
    return linked


def on_appeal_event(appeal: Appeal, event: AppealEvent) -> None:
    """After a registration commits: match the new appeal. Every other event returns at once."""
    if event.action != Action.REGISTER:
        return
    match_appeal(appeal)
