"""Writes for the livelihood projects (民生实事).

The leader's office (leaders, supervisors, administrators) lists the year's projects and their
milestones; only handlers of a project's owner unit report its progress.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.core import clock, uploads
from kuaiban.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.org.models import Role, Unit, User
from kuaiban.projects.models import Milestone, ProgressPhoto, ProgressUpdate, Project

MANAGE = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
NAME_MAX = 200
TARGET_MAX = 2000
NOTE_MAX = 500
BUDGET_MAX = Decimal("9999999999")
PHOTOS_MAX = 9


def may_manage(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in MANAGE)


def may_report(user: User, project: Project) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.role == Role.HANDLER
        and user.unit_id is not None
        and user.unit_id == project.owner_unit_id
    )


def _text(value: str | None, name: str, *, required: bool, limit: int) -> str:
    out = (value or "").strip()
    if required and not out:
        raise ValidationFailed.one(name, _("This field is required."))
    if len(out) > limit:
        raise ValidationFailed.one(
            name, _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(out)}
        )
    return out


@dataclass
class MilestoneInput:
    title: str
    due: dt.date | None


@dataclass
class ProjectInput:
    year: int | None
    name: str
    owner_unit: str
    target: str
    budget: Decimal | str | float | None = None
    milestones: list[MilestoneInput] = field(default_factory=list)


def _milestone(data: MilestoneInput, year: int, prefix: str) -> dict[str, Any]:
    errors: list[FieldError] = []
    title = ""
    try:
        title = _text(data.title, prefix + "title", required=True, limit=NAME_MAX)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if data.due is None:
        errors.append(FieldError(prefix + "due", _("This field is required.")))
    elif data.due.year != year:
        errors.append(FieldError(prefix + "due", _("Must fall within %(year)d.") % {"year": year}))
    if errors:
        raise ValidationFailed(errors)
    return {"title": title, "due": data.due}


@transaction.atomic
def project_create(*, actor: User, data: ProjectInput) -> Project:
    if not may_manage(actor):
        raise PermissionDenied(_("Only the leader's office lists livelihood projects."))
    errors: list[FieldError] = []
    today = timezone.localdate(clock.now())
    year = data.year or today.year
    if not today.year - 1 <= year <= today.year + 1:
        errors.append(FieldError("year", _("Only last, this or next year.")))

    def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            return None

    name = run(_text, data.name, "name", required=True, limit=NAME_MAX)
    target = run(_text, data.target, "target", required=True, limit=TARGET_MAX)
    unit = Unit.objects.filter(code=(data.owner_unit or "").strip(), active=True).first()
    if unit is None:
        errors.append(
            FieldError("owner_unit", _("Unknown unit %(code)r.") % {"code": data.owner_unit})
        )
    budget = Decimal("0")
    if data.budget not in (None, ""):
        try:
            budget = Decimal(str(data.budget)).quantize(Decimal("0.01"))
            if budget < 0 or budget > BUDGET_MAX:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(
                FieldError("budget", _("A non-negative amount in 10,000 yuan, like 350.5."))
            )
    milestones = [
        run(_milestone, m, year, f"milestones.{i}.") for i, m in enumerate(data.milestones)
    ]
    if errors:
        raise ValidationFailed(errors)
    assert unit is not None
    seq = (Project.objects.filter(year=year).aggregate(m=Max("seq"))["m"] or 0) + 1
    project = Project.objects.create(
        year=year,
        seq=seq,
        name=name,
        owner_unit=unit,
        target=target,
        budget=budget,
        created_by=actor,
        created_at=clock.now(),
    )
    Milestone.objects.bulk_create(Milestone(project=project, **m) for m in milestones if m)
    return project


def _project(project_id: int, *, lock: bool = False) -> Project:
    qs = Project.objects.select_related("owner_unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    project = qs.filter(pk=project_id).first()
    if project is None:
        raise NotFound(_("No project #%(id)s.") % {"id": project_id})
    return project


@transaction.atomic
def milestone_add(*, actor: User, project_id: int, data: MilestoneInput) -> Milestone:
    if not may_manage(actor):
        raise PermissionDenied(_("Only the leader's office lists livelihood projects."))
    project = _project(project_id)
    return Milestone.objects.create(project=project, **_milestone(data, project.year, ""))


def _checked_text(errors: list[FieldError], value: str | None, name: str, **kw: Any) -> str:
    try:
        return _text(value, name, **kw)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        return ""


@transaction.atomic
def project_progress(
    *,
    actor: User,
    project_id: int,
    progress: int | None,
    note: str,
    milestone: int | None = None,
    reason: str = "",
    photos: Sequence[uploads.Upload] = (),
) -> ProgressUpdate:
    """The owner unit reports progress (0–100 %) and optionally a milestone reached, with what
    changed (``note``), photos already checked by ``kuaiban.core.uploads.prepare_all``, and —
    required when the figure goes down — the ``reason`` it does."""
    project = _project(project_id, lock=True)
    if not may_report(actor, project):
        raise PermissionDenied(
            _("Only handlers of %(unit)s report this project's progress.")
            % {"unit": project.owner_unit.name}
        )
    errors: list[FieldError] = []
    new = project.progress if progress is None else progress
    if not isinstance(new, int) or not 0 <= new <= 100:
        errors.append(FieldError("progress", _("A whole percentage from 0 to 100.")))
    note = _checked_text(errors, note, "note", required=True, limit=NOTE_MAX)
    lowered = isinstance(new, int) and new < project.progress
    reason = _checked_text(errors, reason, "reason", required=False, limit=NOTE_MAX)
    if lowered and not reason:
        errors.append(
            FieldError(
                "reason",
                _("The figure goes down from %(old)d%% to %(new)d%%: say why.")
                % {"old": project.progress, "new": new},
            )
        )
    if len(photos) > PHOTOS_MAX:
        errors.append(FieldError("photos", _("At most %(n)d photos.") % {"n": PHOTOS_MAX}))
    if any(not p.is_image for p in photos):
        errors.append(FieldError("photos", _("Only photos can be sent here (JPEG, PNG, WebP).")))
    reached: Milestone | None = None
    if milestone:
        reached = project.milestones.filter(pk=milestone).first()
        if reached is None:
            errors.append(FieldError("milestone", _("Not a milestone of this project.")))
        elif reached.done_on is not None:
            errors.append(FieldError("milestone", _("This milestone is already reached.")))
    if not errors and new == project.progress and reached is None:
        errors.append(
            FieldError("progress", _("Nothing changed: give a new figure or a milestone."))
        )
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    update = ProgressUpdate.objects.create(
        project=project,
        at=now,
        actor=actor,
        progress_from=project.progress,
        progress_to=new,
        milestone=reached,
        note=note,
        reason=reason,
    )
    ProgressPhoto.objects.bulk_create(
        ProgressPhoto(
            update=update,
            stored_as=uploads.store(p),
            name=p.name,
            content_type=p.content_type,
            size=p.size,
            width=p.width,
            height=p.height,
            sha256=p.sha256,
        )
        for p in photos
    )
    if reached is not None:
        reached.done_on = timezone.localdate(now)
        reached.save(update_fields=["done_on"])
    project.progress = new
    project.status_note = note
    project.progress_at = now
    project.save(update_fields=["progress", "status_note", "progress_at"])
    return update
