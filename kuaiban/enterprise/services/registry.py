"""Writes for the enterprise registry, 包保 assignments, visits (走访) and appeal links."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy as appeal_policy
from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.models import Action, Appeal, AppealEvent, Kind, SubmitterType
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.core.validation import clean_credit_code, clean_phone
from kuaiban.enterprise import industries, rules, topics
from kuaiban.enterprise.models import (
    Assignment,
    Contact,
    Enterprise,
    EnterpriseAppeal,
    EnterpriseVisit,
    Industry,
    LinkSource,
    Meeting,
    Size,
)
from kuaiban.org.models import Region, User

log = logging.getLogger(__name__)

NAME_MAX = 200
ADDRESS_MAX = 200
PERSON_MAX = 50
FINDINGS_MAX = 2000
MAX_PROBLEMS = 20
# Problems found on visits and raised at meetings are not confidential reports (举报).
PROBLEM_KINDS = (Kind.HELP, Kind.COMPLAINT, Kind.CONSULTATION, Kind.SUGGESTION)


def text(value: str | None, field_name: str, *, required: bool, limit: int) -> str:
    out = (value or "").strip()
    if required and not out:
        raise ValidationFailed.one(field_name, _("This field is required."))
    if len(out) > limit:
        raise ValidationFailed.one(
            field_name,
            _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(out)},
        )
    return out


def collect(checks: Iterable[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    """Run every check and gather all field errors, so a form can show each beside its field."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks:
        try:
            clean[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def require(user: User, roles: frozenset[str]) -> None:
    if not rules.has(user, roles):
        raise PermissionDenied(
            _("Your role (%(role)s) may not do this.") % {"role": user.get_role_display()}
        )


# ----- the registry ------------------------------------------------------------------------------


@dataclass
class EnterpriseInput:
    credit_code: str
    name: str
    industry: str
    size: str
    township: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


def _industry(value: str) -> Industry:
    code = industries.resolve(value)
    if code is None:
        raise ValidationFailed.one(
            "industry",
            _("Unknown industry %(value)r: use a section letter A–T of GB/T 4754-2017 or its name.")
            % {"value": value},
        )
    found = industries.row(code)
    assert found is not None
    return found


SIZE_ALIASES = {
    "规上": Size.ABOVE,
    "规上企业": Size.ABOVE,
    "规模以上": Size.ABOVE,
    "规下": Size.BELOW,
    "规下企业": Size.BELOW,
    "规模以下": Size.BELOW,
    "在建项目": Size.CONSTRUCTION,
    "在建": Size.CONSTRUCTION,
    "拟落地项目": Size.PLANNED,
    "拟落地": Size.PLANNED,
}


def _size(value: str) -> str:
    raw = (value or "").strip()
    if raw in Size.values:
        return raw
    if raw in SIZE_ALIASES:
        return str(SIZE_ALIASES[raw])
    raise ValidationFailed.one(
        "size",
        _("Unknown size %(value)r; one of: 规上, 规下, 在建项目, 拟落地项目.") % {"value": raw},
    )


def township_of(value: str | None) -> Region | None:
    raw = (value or "").strip()
    if not raw:
        return None
    found = Region.objects.filter(Q(code=raw) | Q(name=raw), level=Region.Level.TOWNSHIP).first()
    if found is None:
        raise ValidationFailed.one(
            "township", _("Unknown township or street %(value)r.") % {"value": raw}
        )
    return found


def validate_enterprise(data: EnterpriseInput) -> dict[str, Any]:
    clean = collect(
        [
            ("credit_code", lambda: clean_credit_code(data.credit_code or "")),
            ("name", lambda: text(data.name, "name", required=True, limit=NAME_MAX)),
            ("industry", lambda: _industry(data.industry)),
            ("size", lambda: _size(data.size)),
            ("township", lambda: township_of(data.township)),
            ("address", lambda: text(data.address, "address", required=False, limit=ADDRESS_MAX)),
            (
                "contact_name",
                lambda: text(data.contact_name, "contact_name", required=False, limit=PERSON_MAX),
            ),
            (
                "contact_phone",
                lambda: (
                    clean_phone(data.contact_phone or "", "contact_phone")
                    if (data.contact_phone or "").strip()
                    else ""
                ),
            ),
        ]
    )
    if clean["contact_phone"] and not clean["contact_name"]:
        raise ValidationFailed.one("contact_name", _("Give the contact's name with the phone."))
    return clean


def _save_enterprise(clean: dict[str, Any], existing: Enterprise | None) -> tuple[Enterprise, bool]:
    """Write one validated enterprise; returns it and whether anything changed."""
    fields = {k: clean[k] for k in ("name", "industry", "size", "township", "address")}
    changed = False
    if existing is None:
        enterprise = Enterprise.objects.create(credit_code=clean["credit_code"], **fields)
        changed = True
    else:
        enterprise = existing
        for key, value in fields.items():
            if getattr(enterprise, key) != value:
                setattr(enterprise, key, value)
                changed = True
        if changed:
            enterprise.save()
    if clean["contact_phone"]:
        contact = enterprise.contacts.filter(phone=clean["contact_phone"]).first()
        if contact is None:
            enterprise.contacts.update(primary=False)
            Contact.objects.create(
                enterprise=enterprise,
                name=clean["contact_name"],
                phone=clean["contact_phone"],
                primary=True,
            )
            changed = True
        elif contact.name != clean["contact_name"] or not contact.primary:
            enterprise.contacts.exclude(pk=contact.pk).update(primary=False)
            contact.name, contact.primary = clean["contact_name"], True
            contact.save()
            changed = True
    return enterprise, changed


@transaction.atomic
def enterprise_create(*, actor: User, data: EnterpriseInput) -> Enterprise:
    require(actor, rules.MANAGE_REGISTRY)
    clean = validate_enterprise(data)
    duplicate = Conflict(
        _("An enterprise with credit code %(code)s is already registered.")
        % {"code": clean["credit_code"]},
        code="duplicate",
    )
    if Enterprise.objects.filter(credit_code=clean["credit_code"]).exists():
        raise duplicate
    try:
        with transaction.atomic():  # two desks registering one code at once: a 409, not a 500
            enterprise, _changed = _save_enterprise(clean, None)
    except IntegrityError:
        raise duplicate from None
    link_existing_appeals([enterprise])
    return enterprise


@transaction.atomic
def enterprise_update(*, actor: User, credit_code: str, data: EnterpriseInput) -> Enterprise:
    require(actor, rules.MANAGE_REGISTRY)
    existing = Enterprise.objects.select_for_update().filter(credit_code=credit_code).first()
    if existing is None:
        raise NotFound(_("No enterprise with credit code %(code)s.") % {"code": credit_code})
    data.credit_code = existing.credit_code
    enterprise, _changed = _save_enterprise(validate_enterprise(data), existing)
    return enterprise


@transaction.atomic
def contact_add(
    *, actor: User, credit_code: str, name: str, phone: str, position: str = ""
) -> Contact:
    require(actor, rules.MANAGE_REGISTRY)
    enterprise = Enterprise.objects.filter(credit_code=credit_code).first()
    if enterprise is None:
        raise NotFound(_("No enterprise with credit code %(code)s.") % {"code": credit_code})
    clean = collect(
        [
            ("name", lambda: text(name, "name", required=True, limit=PERSON_MAX)),
            ("phone", lambda: clean_phone(phone or "", "phone")),
            ("position", lambda: text(position, "position", required=False, limit=PERSON_MAX)),
        ]
    )
    if enterprise.contacts.filter(phone=clean["phone"]).exists():
        raise Conflict(_("That phone is already a contact of this enterprise."), code="duplicate")
    return Contact.objects.create(
        enterprise=enterprise, primary=not enterprise.contacts.exists(), **clean
    )


def enterprise_for_code(value: str, field_name: str = "credit_code") -> Enterprise:
    """The registered enterprise with this credit code; a clear field error otherwise."""
    code = clean_credit_code(value or "", field_name)
    enterprise = (
        Enterprise.objects.select_related("industry", "township").filter(credit_code=code).first()
    )
    if enterprise is None:
        raise ValidationFailed.one(
            field_name,
            _(
                "Credit code %(code)s is not in the county's enterprise registry; "
                "ask the business environment office to register it."
            )
            % {"code": code},
        )
    return enterprise


def require_contact(enterprise: Enterprise, phone: str) -> None:
    """The public proves who they are with a registered contact phone (``phone`` cleaned)."""
    if not enterprise.contacts.filter(phone=phone).exists():
        raise ValidationFailed.one(
            "phone", _("That phone is not a registered contact of this enterprise.")
        )


# ----- links between appeals and enterprises -----------------------------------------------------


def link_appeal(
    appeal: Appeal,
    enterprise: Enterprise,
    *,
    source: str,
    visit: EnterpriseVisit | None = None,
    meeting: Meeting | None = None,
) -> EnterpriseAppeal:
    return EnterpriseAppeal.objects.create(
        appeal=appeal,
        enterprise=enterprise,
        source=source,
        visit=visit,
        meeting=meeting,
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


# ----- problems become appeals -------------------------------------------------------------------


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


# ----- 包保 assignments ----------------------------------------------------------------------


@transaction.atomic
def assignment_create(
    *,
    actor: User,
    official: str,
    enterprise: str | None = None,
    project: int | None = None,
    duty: str = "",
) -> Assignment:
    """Assign a leader or official (any active user) to an enterprise or a project."""
    require(actor, rules.ASSIGN)
    errors: list[FieldError] = []
    person = User.objects.filter(username=(official or "").strip(), is_active=True).first()
    if person is None:
        errors.append(FieldError("official", _("No active user %(name)r.") % {"name": official}))
    if bool(enterprise) == bool(project):
        errors.append(FieldError("target", _("Give either an enterprise or a project.")))
    target_enterprise = target_project = None
    if enterprise:
        try:
            target_enterprise = enterprise_for_code(enterprise, "enterprise")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if project:
        # projects builds on enterprise (its pages assign officials): its model is looked up
        # through the app registry rather than imported from the app above this one.
        target_project = apps.get_model("projects", "Project").objects.filter(pk=project).first()
        if target_project is None:
            errors.append(FieldError("project", _("No project #%(id)s.") % {"id": project}))
    try:
        duty = text(duty, "duty", required=False, limit=50)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert person is not None
    exists = Assignment.objects.filter(
        official=person,
        enterprise=target_enterprise,
        project=target_project,
        ended_at__isnull=True,
    ).exists()
    if exists:
        raise Conflict(
            _("%(name)s is already assigned to this.") % {"name": person.label}, code="duplicate"
        )
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                official=person,
                enterprise=target_enterprise,
                project=target_project,
                duty=duty,
                assigned_by=actor,
                assigned_at=clock.now(),
            )
    except IntegrityError:
        raise Conflict(
            _("%(name)s is already assigned to this.") % {"name": person.label}, code="duplicate"
        ) from None


@transaction.atomic
def assignment_end(*, actor: User, assignment_id: int) -> Assignment:
    require(actor, rules.ASSIGN)
    assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound(_("No assignment #%(id)s.") % {"id": assignment_id})
    if assignment.ended_at is not None:
        raise Conflict(_("This assignment has already ended."), code="wrong_status")
    assignment.ended_at = clock.now()
    assignment.save(update_fields=["ended_at"])
    return assignment


# ----- visits (走访) ----------------------------------------------------------------------


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
