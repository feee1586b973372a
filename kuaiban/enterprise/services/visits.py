"""Writes for visits (走访): what the officials found, and the problems that become appeals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.core import clock
from kuaiban.core.errors import NotFound, PermissionDenied, ValidationFailed
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import Enterprise, EnterpriseVisit, LinkSource
from kuaiban.enterprise.services.checks import collect, text
from kuaiban.enterprise.services.links import ProblemInput, link_appeal, register_problem
from kuaiban.org.models import User

FINDINGS_MAX = 2000
MAX_PROBLEMS = 20


@dataclass
class VisitInput:
    visited_on: dt.date | None
    findings: str
    visitors: list[str] = field(default_factory=list)
    problems: list[ProblemInput] = field(default_factory=list)


def may_visit(user: User, enterprise: Enterprise) -> bool:
    if rules.has(user, rules.VISIT_ANY):
        return True
    return (
        rules.active(user)
        and enterprise.assignments.filter(official=user, ended_at__isnull=True).exists()
    )


@transaction.atomic
def visit_record(*, actor: User, credit_code: str, data: VisitInput) -> EnterpriseVisit:
    """Record a visit; every problem found becomes an appeal (channel ``visit``) linked to it.
    All or nothing: one bad problem leaves no visit and no appeal behind."""
    enterprise = (
        Enterprise.objects.select_related("township").filter(credit_code=credit_code).first()
    )
    q = rules.enterprise_q(actor)
    if (
        enterprise is None
        or q is None
        or not Enterprise.objects.filter(q, pk=enterprise.pk).exists()
    ):
        raise NotFound(_("No enterprise with credit code %(code)s.") % {"code": credit_code})
    if not may_visit(actor, enterprise):
        raise PermissionDenied(
            _("Only the enterprise's assigned officials or a leader may record a visit.")
        )

    def visited_on() -> dt.date:
        if data.visited_on is None:
            raise ValidationFailed.one("visited_on", _("This field is required."))
        if data.visited_on > timezone.localdate(clock.now()):
            raise ValidationFailed.one("visited_on", _("Cannot be in the future."))
        return data.visited_on

    def visitors() -> list[User]:
        names = [n.strip() for n in data.visitors if n and n.strip()]
        people = list(User.objects.filter(username__in=names, is_active=True))
        missing = sorted(set(names) - {p.username for p in people})
        if missing:
            raise ValidationFailed.one(
                "visitors", _("Unknown users: %(names)s.") % {"names": ", ".join(missing)}
            )
        return people

    def problems() -> list[ProblemInput]:
        if len(data.problems) > MAX_PROBLEMS:
            raise ValidationFailed.one(
                "problems", _("At most %(n)d problems per visit.") % {"n": MAX_PROBLEMS}
            )
        return data.problems

    clean = collect(
        [
            ("visited_on", visited_on),
            (
                "findings",
                lambda: text(data.findings, "findings", required=True, limit=FINDINGS_MAX),
            ),
            ("visitors", visitors),
            ("problems", problems),
        ]
    )
    visit = EnterpriseVisit.objects.create(
        enterprise=enterprise,
        visited_on=clean["visited_on"],
        findings=clean["findings"],
        recorded_by=actor,
        recorded_at=clock.now(),
    )
    visit.visitors.set({actor, *clean["visitors"]})
    for index, problem in enumerate(clean["problems"]):
        appeal = register_problem(
            actor=actor,
            enterprise=enterprise,
            channel="visit",
            problem=problem,
            index=index,
            payload={"enterprise": enterprise.credit_code, "enterprise_visit": visit.pk},
        )
        link_appeal(appeal, enterprise, source=LinkSource.VISIT, visit=visit)
    return visit
