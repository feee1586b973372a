"""What every transition checks first: the locked row, the actor's right, the state, the input.

Shared by the modules of this package only; the limits are public (other apps show them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import (
    ALLOWED_TRANSITIONS,
    Action,
    Appeal,
    Category,
    Status,
)
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.org.models import Region, Role, Unit, User

TITLE_MAX = 120
TEXT_MAX = 2000
REASON_MAX = 500
NAME_MAX = 100
ADDRESS_MAX = 200
GROUP_MAX = 10000
# A petition visit by this many people or more is a group visit (集体访), urgent by default.
GROUP_URGENT = 5
MAX_RETURNS = 2
UNREACHED_ATTEMPTS_TO_END = 3


_Coded = TypeVar("_Coded", Region, Category)


def _text(value: str | None, field: str, *, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed.one(field, _("This field is required."))
    if len(text) > limit:
        raise ValidationFailed.one(
            field, _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(text)}
        )
    return text


def _locked(number: str) -> Appeal:
    appeal = (
        Appeal.objects.select_for_update(of=("self",))
        .select_related("lead_unit")
        .filter(number=number)
        .first()
    )
    if appeal is None:
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    return appeal


def _guard(appeal: Appeal, actor: User | None, action: str) -> None:
    """Refuse: 404 if the actor can't see it, 403 for the wrong role, 409 for the wrong state.

    ``actor`` None is the system replaying a history recorded elsewhere (the ledger importer,
    which an administrator runs): only the state check applies, as for registration by the
    system. Every request by a person passes that person."""
    if actor is not None:
        _guard_person(appeal, actor, action)
    if appeal.status not in ALLOWED_TRANSITIONS[action]:
        raise Conflict(
            _("Cannot %(action)s an appeal that is %(status)s.")
            % {"action": Action(action).label, "status": appeal.get_status_display()},
            code="wrong_status",
        )


def _guard_person(appeal: Appeal, actor: User, action: str) -> None:
    if not policy.can_see(actor, appeal):
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": appeal.number})
    if not policy.may(actor, action, appeal):
        if actor.role == Role.GRID_WORKER and Role.GRID_WORKER in policy.ACTION_ROLES.get(
            action, frozenset()
        ):
            raise PermissionDenied(
                _("Only the grid worker of the grid leading this appeal may do this.")
            )
        if action in policy.UNIT_BOUND_ACTIONS and actor.role == Role.HANDLER:
            raise PermissionDenied(_("Only a handler of the lead unit may do this."))
        if action in policy.PART_BOUND_ACTIONS and actor.role == Role.HANDLER:
            raise PermissionDenied(_("Only a handler of a co-handling unit may do this."))
        raise PermissionDenied(
            _("Your role (%(role)s) may not do this.") % {"role": actor.get_role_display()}
        )


def _choice(value: str | None, field: str, choices: Any, *, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise ValidationFailed.one(
            field,
            _("Unknown value %(value)r; one of: %(allowed)s.")
            % {"value": value, "allowed": allowed},
        )
    return str(value)


def _optional(clean: Callable[[str, str], str], value: str | None, field: str) -> str:
    """An optional identifier: empty stays empty, anything else must be valid."""
    return clean(value, field) if value and value.strip() else ""


def _unit(code: str | None, field: str) -> Unit:
    if not code:
        raise ValidationFailed.one(field, _("This field is required."))
    unit = Unit.objects.filter(code=code, active=True).first()
    if unit is None:
        raise ValidationFailed.one(field, _("Unknown unit %(code)r.") % {"code": code})
    return unit


def _known(model: type[_Coded], code: str | None, field: str, unknown: str) -> _Coded | None:
    """The row of ``model`` with this code; None for no code, a field error for an unknown one."""
    if not code:
        return None
    found = model._default_manager.filter(code=code).first()
    if found is None:
        raise ValidationFailed.one(field, unknown % {"code": code})
    return found


def _set_status(appeal: Appeal, to: str, now: dt.datetime) -> str:
    """Move the appeal to ``to`` and stamp the time of that step; returns the status before."""
    before = appeal.status
    appeal.status = to
    stamp = {
        Status.DISPATCHED: "dispatched_at",
        Status.IN_PROGRESS: "claimed_at",
        Status.REPLIED: "replied_at",
        Status.VISITED: "visited_at",
        Status.CLOSED: "closed_at",
    }.get(Status(to))
    if stamp and (to != Status.IN_PROGRESS or before == Status.DISPATCHED):
        setattr(appeal, stamp, now)
    if to in (Status.CLOSED, Status.MERGED, Status.INVALID):
        appeal.ended_at = now
    return before
