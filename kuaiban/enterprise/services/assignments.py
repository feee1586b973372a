"""Writes for 包保 assignments: a leader or official answering for an enterprise or a project,
on an enterprise optionally in one of the four roles of 四包 (:class:`BaobaoRole`)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import UNIT_ROLES, Assignment, BaobaoRole, Enterprise
from kuaiban.enterprise.services.checks import require, text
from kuaiban.enterprise.services.registry import enterprise_for_code
from kuaiban.org.models import Role, Unit, User


def _role_checks(
    person: User | None, role: str, unit: str | None, enterprise: str | None
) -> tuple[Unit | None, list[FieldError]]:
    """The unit an official holds ``role`` for, and what is wrong with the role and unit."""
    errors: list[FieldError] = []
    if not role:
        if unit:
            errors.append(
                FieldError("unit", _("A unit goes with the approval or responsible role."))
            )
        return None, errors
    if role not in BaobaoRole.values:
        errors.append(FieldError("role", _("Unknown 四包 role %(role)r.") % {"role": role}))
        return None, errors
    if not enterprise:
        errors.append(FieldError("role", _("The 四包 roles are held on an enterprise.")))
    if role == BaobaoRole.LEADER and person is not None and person.role != Role.LEADER:
        errors.append(
            FieldError("official", _("Solving the hard problems is a county leader's role."))
        )
    if role not in UNIT_ROLES:
        if unit:
            errors.append(
                FieldError("unit", _("A unit goes with the approval or responsible role."))
            )
        return None, errors
    found: Unit | None = None
    if unit:
        found = Unit.objects.filter(code=unit.strip(), active=True).first()
        if found is None:
            errors.append(FieldError("unit", _("Unknown unit %(code)r.") % {"code": unit}))
    elif person is not None:
        found = person.unit
        if found is None:
            errors.append(FieldError("unit", _("Name the unit this official acts for.")))
    return found, errors


def _free_role(enterprise: Enterprise, role: str, *, replace: bool, now: Any) -> None:
    """Make room for a new holder of ``role``: end the current one when replacing, else 409."""
    holder = (
        Assignment.objects.select_for_update()
        .filter(enterprise=enterprise, role=role, ended_at__isnull=True)
        .select_related("official")
        .first()
    )
    if holder is None:
        return
    if not replace:
        raise Conflict(
            _(
                "%(name)s already holds “%(role)s” for this enterprise; "
                "choose replace to hand it over."
            )
            % {"name": holder.official.label, "role": BaobaoRole(role).label},
            code="role_taken",
        )
    holder.ended_at = now
    holder.save(update_fields=["ended_at"])


@transaction.atomic
def assignment_create(
    *,
    actor: User,
    official: str,
    enterprise: str | None = None,
    project: int | None = None,
    duty: str = "",
    role: str | None = "",
    unit: str | None = None,
    replace: bool = False,
) -> Assignment:
    """Assign a leader or official (any active user) to an enterprise or a project; on an
    enterprise optionally in a 四包 role (``replace``: hand the role over from its holder)."""
    require(actor, rules.ASSIGN)
    role = (role or "").strip()
    errors: list[FieldError] = []
    person = (
        User.objects.filter(username=(official or "").strip(), is_active=True)
        .select_related("unit")
        .first()
    )
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
    for_unit, role_errors = _role_checks(person, role, unit, enterprise)
    errors.extend(role_errors)
    try:
        duty = text(duty, "duty", required=False, limit=50)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    assert person is not None
    return _create(
        actor, person, target_enterprise, target_project, duty, role, for_unit, replace=replace
    )


def _create(
    actor: User,
    person: User,
    enterprise: Enterprise | None,
    project: Any,
    duty: str,
    role: str,
    unit: Unit | None,
    *,
    replace: bool,
) -> Assignment:
    duplicate = Conflict(
        _("%(name)s is already assigned to this.") % {"name": person.label}, code="duplicate"
    )
    exists = Assignment.objects.filter(
        official=person, enterprise=enterprise, project=project, ended_at__isnull=True
    )
    now = clock.now()
    if role and enterprise is not None:
        # Handing a role over to its own holder, or to someone already on the enterprise in
        # another role, is refused before the holder is ended.
        if exists.exists():
            raise duplicate
        _free_role(enterprise, role, replace=replace, now=now)
    elif exists.exists():
        raise duplicate
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                official=person,
                enterprise=enterprise,
                project=project,
                duty=duty,
                role=role,
                unit=unit,
                assigned_by=actor,
                assigned_at=now,
            )
    except IntegrityError:
        raise duplicate from None


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
