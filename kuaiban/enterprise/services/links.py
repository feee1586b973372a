"""Appeals joined to enterprises: the links, and problems (found on visits, raised at meetings)
registered as appeals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kuaiban.appeals import policy as appeal_policy
from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.models import Action, Appeal, AppealEvent, Kind, SubmitterType
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, PermissionDenied, ValidationFailed
from kuaiban.enterprise import topics
from kuaiban.enterprise.models import (
    Enterprise,
    EnterpriseAppeal,
    EnterpriseGroup,
    EnterpriseVisit,
    LinkSource,
    Meeting,
)
from kuaiban.org.models import User

# Problems found on visits and raised at meetings are not confidential reports (举报).
PROBLEM_KINDS = (Kind.HELP, Kind.COMPLAINT, Kind.CONSULTATION, Kind.SUGGESTION)


def link_appeal(
    appeal: Appeal,
    enterprise: Enterprise,
    *,
    source: str,
    visit: EnterpriseVisit | None = None,
    meeting: Meeting | None = None,
    group: EnterpriseGroup | None = None,
) -> EnterpriseAppeal:
    return EnterpriseAppeal.objects.create(
        appeal=appeal,
        enterprise=enterprise,
        source=source,
        visit=visit,
        meeting=meeting,
        group=group,
        topic=topics.classify(f"{appeal.title}\n{appeal.content}"),
        linked_at=clock.now(),
    )


def link_existing_appeals(enterprises: Iterable[Enterprise]) -> int:
    """Link ledger appeals carrying these enterprises' credit codes that are not linked yet."""
    by_code = {e.credit_code: e for e in enterprises}
    if not by_code:
        return 0
    now = clock.now()
    rows = [
        EnterpriseAppeal(
            appeal_id=a["pk"],
            enterprise=by_code[a["credit_code"]],
            source=LinkSource.CREDIT_CODE,
            topic=topics.classify(f"{a['title']}\n{a['content']}"),
            linked_at=now,
        )
        for a in Appeal.objects.filter(
            credit_code__in=list(by_code), enterprise_link__isnull=True
        ).values("pk", "credit_code", "title", "content")
    ]
    EnterpriseAppeal.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def link_on_register(appeal: Appeal, event: AppealEvent) -> None:
    """After-commit hook: an appeal carrying a registered enterprise's credit code joins it.

    Runs after every event (no query for a citizen's appeal) so an appeal also links when its
    enterprise is registered later and the appeal moves on.
    """
    code = appeal.credit_code
    if not code:
        return
    try:
        if EnterpriseAppeal.objects.filter(appeal_id=appeal.pk).exists():
            return
        enterprise = Enterprise.objects.filter(credit_code=code).first()
        if enterprise is None:
            return
        with transaction.atomic():
            link_appeal(appeal, enterprise, source=LinkSource.CREDIT_CODE)
    except IntegrityError:
        return  # linked meanwhile by its visit or meeting


@dataclass
class ProblemInput:
    content: str
    title: str | None = None
    kind: str = Kind.HELP
    category: str | None = None
    unit: str | None = None  # dispatch at once to this lead unit (dispatchers only)


def register_problem(
    *,
    actor: User,
    enterprise: Enterprise,
    channel: str,
    problem: ProblemInput,
    index: int | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    payload: dict[str, Any],
) -> Appeal:
    """One problem found or raised → one appeal in the ledger (call inside a transaction).

    The appeal is registered by ``actor`` where the appeal rules let that role register; an
    official or leader without that right registers it through the system, and the event's
    payload names them (``recorded_by``).
    """
    prefix = f"problems.{index}." if index is not None else ""
    if problem.kind not in PROBLEM_KINDS:
        raise ValidationFailed.one(
            prefix + "kind",
            _("A problem is one of: help, complaint, consultation, suggestion."),
        )
    if problem.unit and not appeal_policy.may(actor, Action.DISPATCH):
        raise PermissionDenied(
            _("Your role may not dispatch; leave the lead unit for the registration desk.")
        )
    primary = enterprise.contacts.filter(primary=True).first()
    data = appeal_services.AppealInput(
        channel=channel,
        kind=problem.kind,
        title=problem.title or None,
        content=problem.content,
        submitter_type=SubmitterType.ENTERPRISE,
        submitter_name=contact_name or (primary.name if primary else ""),
        submitter_phone=contact_phone or (primary.phone if primary else ""),
        enterprise_name=enterprise.name,
        credit_code=enterprise.credit_code,
        region=enterprise.township.code if enterprise.township else None,
        address=enterprise.address,
        category=problem.category or None,
    )
    registrar = actor if appeal_policy.may(actor, Action.REGISTER) else None
    try:
        appeal = appeal_services.appeal_register(
            actor=registrar,
            data=data,
            extra_payload={**payload, "recorded_by": actor.username},
        )
        if problem.unit:
            appeal = appeal_services.appeal_dispatch(
                actor=actor, number=appeal.number or "", unit=problem.unit
            )
    except ValidationFailed as exc:
        raise ValidationFailed(
            [FieldError(prefix + e.field, e.message) for e in exc.errors], str(exc.message)
        ) from None
    return appeal
