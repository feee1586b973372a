"""Role-scoped reads of the enterprise domain, and its figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy as appeal_policy
from kuaiban.appeals.models import CONFIDENTIAL_KINDS, OPEN_STATUSES, Appeal, Status
from kuaiban.core import clock
from kuaiban.core.errors import NotFound
from kuaiban.core.validation import mask_phone
from kuaiban.enterprise import rules, topics
from kuaiban.enterprise.models import (
    Answer,
    Assignment,
    BaobaoRole,
    Booking,
    Enterprise,
    EnterpriseAppeal,
    EnterpriseVisit,
    Industry,
    Meeting,
    MeetingStatus,
    Notice,
    Policy,
    Topic,
)
from kuaiban.org.models import Role, User


def today() -> dt.date:
    return timezone.localdate(clock.now())


def quarter_start(on: dt.date) -> dt.date:
    return dt.date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)


# ----- the registry ----------------------------------------------------------------------------


def visible_enterprises(user: User) -> QuerySet[Enterprise]:
    q = rules.enterprise_q(user)
    if q is None:
        return Enterprise.objects.none()
    qs = Enterprise.objects.all()
    if q:
        # An official may hold two assignments to one enterprise over time: filter via a subquery.
        qs = qs.filter(
            Exists(
                Assignment.objects.filter(
                    enterprise=OuterRef("pk"), official=user, ended_at__isnull=True
                )
            )
        )
    return qs.select_related("industry", "township")


@dataclass
class EnterpriseFilter:
    q: str = ""
    industry: str = ""
    size: str = ""
    township: str = ""
    assigned: str = ""  # "yes" / "no"


def full_contact_enterprises(user: User) -> set[int] | None:
    """Ids of the enterprises whose contacts' phones ``user`` reads in full; None means all (the
    registry desk). Officials read those of the enterprises assigned to them."""
    if rules.has(user, rules.SEE_CONTACT_PHONES):
        return None
    if not rules.active(user):
        return set()
    return set(
        Assignment.objects.filter(
            official=user, ended_at__isnull=True, enterprise__isnull=False
        ).values_list("enterprise_id", flat=True)
    )


def contact_phone(phone: str, enterprise_id: int, full: set[int] | None) -> str:
    return phone if full is None or enterprise_id in full else mask_phone(phone)


def enterprise_list(*, user: User, f: EnterpriseFilter) -> QuerySet[Enterprise]:
    qs = visible_enterprises(user)
    if f.q:
        qs = qs.filter(Q(name__icontains=f.q) | Q(credit_code__iexact=f.q.strip().upper()))
    if f.industry:
        qs = qs.filter(industry_id=f.industry.upper())
    if f.size:
        qs = qs.filter(size=f.size)
    if f.township:
        qs = qs.filter(township__code=f.township)
    active = Assignment.objects.filter(enterprise=OuterRef("pk"), ended_at__isnull=True)
    if f.assigned == "yes":
        qs = qs.filter(Exists(active))
    elif f.assigned == "no":
        qs = qs.filter(~Exists(active))
    open_q = Q(appeal_links__appeal__status__in=list(OPEN_STATUSES))
    return qs.annotate(
        appeals_total=Count("appeal_links", distinct=True),
        appeals_open=Count("appeal_links", filter=open_q, distinct=True),
    ).order_by("name", "id")


def enterprise_get(*, user: User, credit_code: str) -> Enterprise:
    enterprise = visible_enterprises(user).filter(credit_code=credit_code.strip().upper()).first()
    if enterprise is None:
        raise NotFound(_("No enterprise with credit code %(code)s.") % {"code": credit_code})
    return enterprise


def enterprise_appeals(*, user: User, enterprise: Enterprise) -> QuerySet[Appeal]:
    """All of an enterprise's appeals (by credit code or link). Confidential reports stay with
    the supervisors."""
    qs = Appeal.objects.filter(
        Q(credit_code=enterprise.credit_code) | Q(enterprise_link__enterprise=enterprise)
    )
    if user.role != Role.SUPERVISOR:
        qs = qs.exclude(kind__in=CONFIDENTIAL_KINDS)
    return (
        qs.select_related("lead_unit", "enterprise_link").distinct().order_by("-received_at", "-id")
    )


def readable_numbers(user: User, appeals: list[Appeal]) -> set[str]:
    """Which of these appeals ``user`` may open in the ledger (others show as a line only)."""
    q = appeal_policy.visible_q(user)
    if q is None or not appeals:
        return set()
    numbers = Appeal.objects.filter(q, pk__in=[a.pk for a in appeals]).values_list(
        "number", flat=True
    )
    return {n for n in numbers if n}


def assignments_of(enterprise: Enterprise) -> QuerySet[Assignment]:
    return enterprise.assignments.filter(ended_at__isnull=True).select_related(
        "official__unit", "unit"
    )


@dataclass
class RoleSeat:
    """One of the four 四包 roles of an enterprise and its current holder (None: vacant)."""

    role: str
    label: str
    holder: Assignment | None


def four_roles(assignments: list[Assignment]) -> list[RoleSeat]:
    """The four 四包 roles in their fixed order, from an enterprise's active assignments."""
    held = {a.role: a for a in assignments if a.role}
    return [RoleSeat(r.value, str(r.label), held.get(r.value)) for r in BaobaoRole]


def policies_for(industry: Industry | None, *, on: dt.date | None = None) -> QuerySet[Policy]:
    """Policies valid on a day, for an industry (policies naming no industry are for all)."""
    on = on or today()
    qs = Policy.objects.filter(valid_from__lte=on).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=on)
    )
    if industry is not None:
        qs = qs.filter(Q(industries=industry) | Q(industries__isnull=True))
    return (
        qs.select_related("issuing_unit")
        .prefetch_related("industries")
        .distinct()
        .order_by("-valid_from", "-id")
    )


def notices_of(enterprise: Enterprise) -> QuerySet[Notice]:
    return enterprise.notices.select_related("answer", "answer__industry").order_by("-told_at")


@dataclass
class MyEnterprise:
    enterprise: Enterprise
    duty: str
    open_appeals: list[Appeal]
    last_visit: dt.date | None


def my_enterprises(*, user: User) -> list[MyEnterprise]:
    """The enterprises assigned to ``user`` with the open problems of each."""
    assignments = (
        Assignment.objects.filter(official=user, ended_at__isnull=True, enterprise__isnull=False)
        .select_related("enterprise__industry", "enterprise__township")
        .order_by("enterprise__name")
    )
    out: list[MyEnterprise] = []
    for a in assignments:
        enterprise = a.enterprise
        assert enterprise is not None
        open_appeals = list(
            enterprise_appeals(user=user, enterprise=enterprise).filter(
                status__in=list(OPEN_STATUSES)
            )
        )
        last = (
            enterprise.visits.order_by("-visited_on").values_list("visited_on", flat=True).first()
        )
        out.append(MyEnterprise(enterprise, a.duty, open_appeals, last))
    # Enterprises with open problems first, then those visited longest ago.
    out.sort(key=lambda m: (-len(m.open_appeals), m.last_visit or dt.date.min))
    return out


# ----- figures --------------------------------------------------------------------------------


def coverage(*, on: dt.date | None = None) -> dict[str, Any]:
    """Enterprises with an assigned official, and visited this quarter."""
    on = on or today()
    since = quarter_start(on)
    total = Enterprise.objects.count()
    assigned = Enterprise.objects.filter(
        Exists(Assignment.objects.filter(enterprise=OuterRef("pk"), ended_at__isnull=True))
    ).count()
    visited = Enterprise.objects.filter(
        Exists(
            EnterpriseVisit.objects.filter(
                enterprise=OuterRef("pk"), visited_on__gte=since, visited_on__lte=on
            )
        )
    ).count()

    def pct(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    return {
        "enterprises": total,
        "assigned": assigned,
        "assigned_pct": pct(assigned),
        "visited_this_quarter": visited,
        "visited_pct": pct(visited),
        "quarter_from": since,
        "visits_this_quarter": EnterpriseVisit.objects.filter(
            visited_on__gte=since, visited_on__lte=on
        ).count(),
    }


def _rate(closed: int, total: int) -> float:
    return round(100 * closed / total, 1) if total else 0.0


def appeal_figures(
    *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """Enterprise appeals by topic and by industry: received, closed, closure rate."""
    links = EnterpriseAppeal.objects.exclude(appeal__kind__in=CONFIDENTIAL_KINDS)
    if date_from:
        links = links.filter(appeal__received_at__date__gte=date_from)
    if date_to:
        links = links.filter(appeal__received_at__date__lte=date_to)
    closed_q = Q(appeal__status=Status.CLOSED)
    open_q = Q(appeal__status__in=list(OPEN_STATUSES))
    labels = dict(Topic.choices)
    by_topic_rows = {
        r["topic"]: r
        for r in links.values("topic").annotate(
            total=Count("id"), closed=Count("id", filter=closed_q), open=Count("id", filter=open_q)
        )
    }
    by_topic: list[dict[str, Any]] = []
    for code in [*topics.TOPIC_ORDER, Topic.OTHER]:
        row = by_topic_rows.get(str(code), {"total": 0, "closed": 0, "open": 0})
        by_topic.append(
            {
                "topic": str(code),
                "label": str(labels[code]),
                "total": row["total"],
                "closed": row["closed"],
                "open": row["open"],
                "closed_pct": _rate(row["closed"], row["total"]),
            }
        )
    by_industry = [
        {
            "industry": r["enterprise__industry"],
            "label": r["enterprise__industry__name"],
            "total": r["total"],
            "closed": r["closed"],
            "open": r["open"],
            "closed_pct": _rate(r["closed"], r["total"]),
        }
        for r in links.values("enterprise__industry", "enterprise__industry__name")
        .annotate(
            total=Count("id"), closed=Count("id", filter=closed_q), open=Count("id", filter=open_q)
        )
        .order_by("-total", "enterprise__industry")
    ]
    total = sum(r["total"] for r in by_topic)
    closed = sum(r["closed"] for r in by_topic)
    return {
        "total": total,
        "closed": closed,
        "closed_pct": _rate(closed, total),
        "by_topic": by_topic,
        "by_industry": by_industry,
    }


# ----- meetings ---------------------------------------------------------------------------------


def meetings(*, user: User, kind: str = "", status: str = "") -> QuerySet[Meeting]:
    if not rules.active(user):
        return Meeting.objects.none()
    qs = Meeting.objects.all()
    if not rules.has(user, rules.RUN_MEETINGS):
        qs = qs.exclude(status=MeetingStatus.DRAFT)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    # Explicit order: Meta.ordering does not apply to a query with aggregates (GROUP BY).
    return (
        qs.prefetch_related("hosts")
        .annotate(
            booked=Count("bookings", distinct=True),
            attended_count=Count("bookings", filter=Q(bookings__attended=True), distinct=True),
            problems_count=Count("problems", distinct=True),
        )
        .order_by("-date", "-start_time", "-id")
    )


def meeting_get(*, user: User, meeting_id: int) -> Meeting:
    meeting = meetings(user=user).filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound(_("No meeting #%(id)s.") % {"id": meeting_id})
    return meeting


def open_meetings() -> QuerySet[Meeting]:
    """What the public may book: published, deadline not passed."""
    return (
        Meeting.objects.filter(status=MeetingStatus.PUBLISHED, booking_closes_at__gt=clock.now())
        .prefetch_related("hosts")
        .annotate(booked=Count("bookings"))
        .order_by("date", "start_time", "id")
    )


def public_meeting(meeting_id: int) -> Meeting:
    meeting = (
        Meeting.objects.exclude(status__in=[MeetingStatus.DRAFT, MeetingStatus.CANCELLED])
        .prefetch_related("hosts")
        .annotate(booked=Count("bookings"))
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None:
        raise NotFound(_("No meeting #%(id)s is open for booking.") % {"id": meeting_id})
    return meeting


def bookings_of(meeting: Meeting) -> QuerySet[Booking]:
    return meeting.bookings.select_related("enterprise", "enterprise__industry").order_by(
        "booked_at", "id"
    )


def problems_of(meeting: Meeting) -> QuerySet[EnterpriseAppeal]:
    return meeting.problems.select_related("appeal", "appeal__lead_unit", "enterprise").order_by(
        "appeal__received_at", "appeal_id"
    )


def meeting_figures(
    *, kind: str = "", date_from: dt.date | None = None, date_to: dt.date | None = None
) -> dict[str, Any]:
    """The numbers the county reports: meetings held, enterprises attended, problems raised and
    closed (e.g. "139 meetings, 967 enterprises, 737 problems, 99% closed")."""
    held = Meeting.objects.filter(status=MeetingStatus.HELD)
    if kind:
        held = held.filter(kind=kind)
    if date_from:
        held = held.filter(date__gte=date_from)
    if date_to:
        held = held.filter(date__lte=date_to)
    attended = Booking.objects.filter(meeting__in=held, attended=True)
    problems = EnterpriseAppeal.objects.filter(meeting__in=held)
    raised = problems.count()
    closed = problems.filter(appeal__status=Status.CLOSED).count()
    replied = problems.filter(
        appeal__status__in=[Status.REPLIED, Status.VISITED, Status.CLOSED]
    ).count()
    return {
        "meetings": held.count(),
        "attendances": attended.count(),
        "enterprises": attended.values("enterprise").distinct().count(),
        "problems": raised,
        "replied": replied,
        "closed": closed,
        "closed_pct": _rate(closed, raised),
    }


# ----- one-to-many answers ------------------------------------------------------------------


def answers() -> QuerySet[Answer]:
    return Answer.objects.select_related("industry", "source_appeal", "published_by").annotate(
        told=Count("notices", distinct=True),
        read=Count("notices", filter=Q(notices__read_at__isnull=False), distinct=True),
    )


def answer_get(answer_id: int) -> Answer:
    answer = answers().filter(pk=answer_id).first()
    if answer is None:
        raise NotFound(_("No answer #%(id)s.") % {"id": answer_id})
    return answer


def matching_answers(appeal: Appeal, *, limit: int = 3) -> list[tuple[Answer, float]]:
    """Published answers similar to this appeal (TF-IDF over the question and answer text),
    preferring the appeal's own industry when it belongs to a registered enterprise."""
    candidates = list(
        Answer.objects.select_related("industry")
        .exclude(source_appeal=appeal)
        .order_by("-id")[:500]
    )
    if not candidates:
        return []
    link = EnterpriseAppeal.objects.filter(appeal=appeal).select_related("enterprise").first()
    industry = link.enterprise.industry_id if link else None
    documents = [f"{a.title}\n{a.question}\n{a.text}" for a in candidates]
    ranked = topics.rank(f"{appeal.title}\n{appeal.content}", documents)
    scored = [
        (candidates[i], score + (0.05 if candidates[i].industry_id == industry else 0.0))
        for i, score in ranked
    ]
    scored.sort(key=lambda pair: -pair[1])
    return [(a, round(s, 3)) for a, s in scored[:limit]]


def enterprise_desk(
    *, user: User, limit: int = 50
) -> list[tuple[Appeal, list[tuple[Answer, float]]]]:
    """Open enterprise appeals not yet dispatched, each with published answers that may fit."""
    q = appeal_policy.visible_q(user)
    if q is None:
        return []
    rows = list(
        Appeal.objects.filter(q, enterprise_link__isnull=False, status=Status.RECEIVED)
        .select_related("enterprise_link__enterprise")
        .order_by("-received_at", "-id")[:limit]
    )
    if not rows or not Answer.objects.exists():
        return [(a, []) for a in rows]
    return [(a, matching_answers(a)) for a in rows]


def visits_of(enterprise: Enterprise) -> QuerySet[EnterpriseVisit]:
    return enterprise.visits.prefetch_related(
        "visitors",
        Prefetch(
            "problems",
            queryset=EnterpriseAppeal.objects.select_related("appeal").order_by("appeal_id"),
        ),
    ).order_by("-visited_on", "-id")
