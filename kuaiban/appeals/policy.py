"""Who may see and do what with an appeal. One place, read by services and selectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    Action,
    Appeal,
    AssistPart,
    PartStatus,
    Status,
)
from kuaiban.core.masking import mask_text
from kuaiban.org.models import Region, Role, Unit, User

# Roles that may perform each action (handlers are further limited to the lead unit).
ACTION_ROLES: dict[str, frozenset[str]] = {
    Action.REGISTER: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Action.DISPATCH: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # A grid worker claims and replies for its grid when the grid leads (unit-bound below):
    # after a whistle, the reply that consolidates the departments' parts (就地解决 is its
    # own move).
    Action.CLAIM: frozenset({Role.HANDLER, Role.GRID_WORKER}),
    Action.RETURN: frozenset({Role.HANDLER}),
    Action.REPLY: frozenset({Role.HANDLER, Role.GRID_WORKER}),
    Action.ANSWER: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Action.VISIT: frozenset({Role.SUPERVISOR, Role.VISITOR}),
    Action.REWORK: frozenset({Role.SUPERVISOR}),
    Action.CLOSE: frozenset({Role.SUPERVISOR}),
    Action.MERGE: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Action.INVALIDATE: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # Adding photos or documents to an open appeal: the desk, or a handler of the lead unit.
    Action.ATTACH: frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.HANDLER}),
    Action.ASSIST_CLAIM: frozenset({Role.HANDLER}),
    Action.ASSIST: frozenset({Role.HANDLER}),
    # Reporting an appeal up to an upper-level platform (上报): the desk and its supervisors.
    Action.ESCALATE: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    # The petition office writes the notice of acceptance and records a petitioner's request
    # for review; the level above (a supervisor) gives the review's opinion.
    Action.PETITION_NOTICE: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Action.REVIEW_REQUEST: frozenset({Role.OPERATOR, Role.SUPERVISOR}),
    Action.REVIEW_DECIDE: frozenset({Role.SUPERVISOR}),
    Action.DELEGATE: frozenset({Role.HANDLER}),
    # 网格吹哨: a handler of the village, or a grid worker of the grid, that leads the appeal.
    Action.WHISTLE: frozenset({Role.HANDLER, Role.GRID_WORKER}),
    # 部门报到: a handler of a department the whistle named.
    Action.REPORT: frozenset({Role.HANDLER}),
    # 就地解决: a grid worker of the grid that leads the appeal.
    Action.RESOLVE_ON_SPOT: frozenset({Role.GRID_WORKER}),
}
UNIT_BOUND_ACTIONS = frozenset({Action.CLAIM, Action.RETURN, Action.REPLY})
# Actions of a co-unit's part: only handlers of a unit with a live part of the appeal.
PART_BOUND_ACTIONS = frozenset({Action.ASSIST_CLAIM, Action.ASSIST})

# Roles that see every appeal, and those that see every appeal except confidential ones.
SEE_ALL = frozenset({Role.SUPERVISOR})
SEE_ALL_BUT_CONFIDENTIAL = frozenset({Role.OPERATOR, Role.LEADER, Role.ADMIN, Role.VISITOR})
# Roles that see a submitter's phone and ID number in full on every appeal they can open (plus
# the lead unit's handlers, and return visitors for their visit queue: sees_full_numbers).
FULL_NUMBERS = frozenset({Role.OPERATOR, Role.SUPERVISOR})


def visible_q(user: User) -> Q | None:
    """A filter of the appeals ``user`` may read; None means nothing at all."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.role in SEE_ALL:
        return Q()
    not_confidential = ~Q(kind__in=CONFIDENTIAL_KINDS)
    if user.role in SEE_ALL_BUT_CONFIDENTIAL:
        return not_confidential
    if user.role == Role.GRID_WORKER and user.unit_id:
        return not_confidential & (
            Q(lead_unit_id=user.unit_id) | Q(region_id__in=grid_worker_regions(user))
        )
    if user.role == Role.HANDLER and user.unit_id:
        # A subquery, not a join through co_units: a join repeats rows (and then needs a
        # DISTINCT over every column, which makes PostgreSQL sort the whole match).
        co_handled = Appeal.co_units.through.objects.filter(unit_id=user.unit_id)
        return (
            Q(lead_unit_id=user.unit_id)
            | Q(overseer_unit_id=user.unit_id)
            | (Q(id__in=co_handled.values("appeal_id")) & not_confidential)
        )
    return None


def can_see(user: User, appeal: Appeal) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in SEE_ALL:
        return True
    if user.role in SEE_ALL_BUT_CONFIDENTIAL:
        return not appeal.is_confidential
    if user.role == Role.GRID_WORKER and user.unit_id:
        if appeal.is_confidential:
            return False
        return appeal.lead_unit_id == user.unit_id or (
            appeal.region_id is not None and appeal.region_id in grid_worker_regions(user)
        )
    if user.role == Role.HANDLER and user.unit_id:
        if user.unit_id in (appeal.lead_unit_id, appeal.overseer_unit_id):
            return True
        if appeal.is_confidential:
            return False
        return appeal.co_units.filter(pk=user.unit_id).exists()
    return False


def sees_full_numbers(user: User, appeal: Appeal) -> bool:
    """Whether ``user`` reads the submitter's phone and ID number in full, in the structured
    fields and in free text alike. Operators and supervisors always; a handler for its own
    unit's appeals (it must call back); a return visitor only for appeals in its visit queue
    (replied, waiting for the call); everyone else (leaders, administrators, co-units) masked."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in FULL_NUMBERS:
        return True
    if user.role == Role.VISITOR:
        return appeal.status == Status.REPLIED and not appeal.is_confidential
    if user.role == Role.GRID_WORKER:
        return bool(user.unit_id and appeal.lead_unit_id == user.unit_id)
    return bool(
        user.role == Role.HANDLER
        and user.unit_id
        and user.unit_id in (appeal.lead_unit_id, appeal.overseer_unit_id)
    )


def sees_contact(user: User, appeal: Appeal) -> bool:
    """The older name of :func:`sees_full_numbers`."""
    return sees_full_numbers(user, appeal)


@dataclass(frozen=True)
class NumberMask:
    """Free text of one appeal as one reader may see it: unchanged when the reader sees full
    numbers, else through the one masking function (mask_text) with the submitter's own phone
    and ID number as known values."""

    full: bool
    known: tuple[str, ...] = ()

    def __call__(self, text: str) -> str:
        return text if self.full or not text else mask_text(text, self.known)

    def deep(self, value: Any) -> Any:
        """Every string inside a JSON-like value (an event's payload) masked."""
        if self.full:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        return value


def number_mask(user: User, appeal: Appeal) -> NumberMask:
    if sees_full_numbers(user, appeal):
        return NumberMask(full=True)
    return number_mask_public(appeal)


def may(user: User, action: str, appeal: Appeal | None = None) -> bool:
    """Role (and unit) check only; the state check lives with the transitions."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role not in ACTION_ROLES.get(action, frozenset()):
        return False
    if appeal is not None and (
        action in UNIT_BOUND_ACTIONS or (action == Action.ATTACH and user.role == Role.HANDLER)
    ):
        return bool(user.unit_id and appeal.lead_unit_id == user.unit_id)
    if appeal is not None and action in PART_BOUND_ACTIONS:
        return own_part(user, appeal) is not None
    if appeal is not None and action == Action.DELEGATE:
        return may_delegate(user, appeal)
    if appeal is not None and action == Action.RESOLVE_ON_SPOT:
        return bool(user.unit_id and appeal.lead_unit_id == user.unit_id)
    if appeal is not None and action == Action.WHISTLE:
        lead = appeal.lead_unit
        return bool(lead and lead.pk == user.unit_id and lead.is_local)
    if appeal is not None and action == Action.REPORT:
        part = own_part(user, appeal)
        return part is not None and part.status == PartStatus.SUMMONED
    return not (appeal is not None and appeal.is_confidential and user.role not in SEE_ALL)


def grid_worker_regions(user: User) -> list[int]:
    """The regions a grid worker reads appeals of: its village and every grid of it (the
    neighbouring grids' appeals are readable, to help; acting stays with one's own grid)."""
    unit = user.unit
    grid = unit.region if unit is not None and unit.kind == Unit.Kind.GRID else None
    if grid is None:
        return []
    if grid.parent_id is None:
        return [grid.pk]
    siblings = Region.objects.filter(parent_id=grid.parent_id).values_list("pk", flat=True)
    return [grid.parent_id, *siblings]


def may_report_from_grid(user: User, channel: str, region: str | None) -> bool:
    """网格上报: a grid worker registers what it finds in its own grid, channel ``grid`` (or
    ``visit``: a problem raised at a household's door during 敲门行动)."""
    unit = user.unit if user.role == Role.GRID_WORKER else None
    return bool(
        unit is not None
        and unit.kind == Unit.Kind.GRID
        and unit.region is not None
        and channel in ("grid", "visit")
        and region == unit.region.code
    )


def may_delegate(user: User, appeal: Appeal) -> bool:
    """下派: a handler of the township that leads the appeal, or of the township that delegated
    it and oversees it (to hand it to another of its villages, or take it back)."""
    if user.role != Role.HANDLER or not user.unit_id:
        return False
    if appeal.overseer_unit_id is not None:
        return user.unit_id == appeal.overseer_unit_id
    lead = appeal.lead_unit
    return bool(lead and lead.pk == user.unit_id and lead.kind == Unit.Kind.TOWNSHIP)


def number_mask_public(appeal: Appeal) -> NumberMask:
    """For pages without a login (the self-rating link): always masked."""
    return NumberMask(full=False, known=(appeal.submitter_phone, appeal.submitter_id_number))


def own_part(user: User, appeal: Appeal) -> AssistPart | None:
    """The live part of ``appeal`` that belongs to ``user``'s unit (a co-unit handler's)."""
    if user.role != Role.HANDLER or not user.unit_id or appeal.is_confidential:
        return None
    return (
        appeal.parts.exclude(status=PartStatus.WITHDRAWN)
        .filter(unit_id=user.unit_id)
        .select_related("unit", "claimed_by", "answered_by")
        .first()
    )


def visible_parts(user: User, appeal: Appeal) -> list[AssistPart]:
    """The co-unit parts ``user`` reads on the appeal page: every live part for the lead unit,
    the township overseeing a delegated appeal, and everyone who oversees (supervisors,
    operators, leaders ...); a co-unit its own only."""
    if not can_see(user, appeal):
        return []
    if user.role == Role.HANDLER and user.unit_id not in (
        appeal.lead_unit_id,
        appeal.overseer_unit_id,
    ):
        part = own_part(user, appeal)
        return [part] if part else []
    return list(
        appeal.parts.exclude(status=PartStatus.WITHDRAWN).select_related(
            "unit", "claimed_by", "answered_by"
        )
    )
