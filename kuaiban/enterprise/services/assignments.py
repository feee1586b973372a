"""Writes for 包保 assignments: a leader or official answering for an enterprise or a project."""

from __future__ import annotations

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import Assignment
from kuaiban.enterprise.services.checks import require, text
from kuaiban.enterprise.services.registry import enterprise_for_code
from kuaiban.org.models import User


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
