"""Who may do what in 敲门行动 (read by the services, the selectors and the pages).

- Publish a focus list: a handler of a township or village unit, for that unit only; an
  administrator for any township or village.
- Record a visit: the grid worker of that grid only.
- Read coverage and a grid's visits: supervisors, leaders and administrators everywhere; a
  township's handlers for the township's grids, a village's for the village's grids; a grid
  worker its own grid's visits (not the coverage table).
- Households' phone numbers in full: the grid worker of the grid (it calls back) and
  supervisors; everyone else reads them masked.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _

from kuaiban.core.errors import PermissionDenied
from kuaiban.org.models import Role, Unit, User

PUBLISHING_KINDS = (Unit.Kind.TOWNSHIP, Unit.Kind.VILLAGE)
COUNTY_WIDE = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN})
FULL_PHONES = frozenset({Role.SUPERVISOR})


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def publisher_unit(user: User, unit: Unit | None) -> Unit:
    """The unit ``user`` publishes a focus list for (``unit``, or its own), or 403."""
    if not _active(user):
        raise PermissionDenied(_("Log in to publish a focus list."))
    if user.role == Role.ADMIN:
        if unit is None:
            raise PermissionDenied(_("An administrator names the unit the list is for."))
        return unit
    own = user.unit if user.role == Role.HANDLER else None
    if own is None or own.kind not in PUBLISHING_KINDS:
        raise PermissionDenied(
            _("Only a handler of a township or village publishes its focus list.")
        )
    if unit is not None and unit.pk != own.pk:
        raise PermissionDenied(_("A unit publishes only its own focus list."))
    return own


def grid_of_worker(user: User, grid: Unit | None = None) -> Unit:
    """The grid ``user`` records visits in (its own; ``grid`` when given must be it), or 403."""
    own = user.unit if _active(user) and user.role == Role.GRID_WORKER else None
    if own is None or own.kind != Unit.Kind.GRID or own.region_id is None:
        raise PermissionDenied(_("Only a grid worker records door visits."))
    if grid is not None and grid.pk != own.pk:
        raise PermissionDenied(_("A grid worker records visits only in their own grid."))
    return own


def grids_q(user: User) -> Q:
    """The grid units whose coverage ``user`` reads, as a filter on ``Unit``; 403 for others."""
    if not _active(user):
        raise PermissionDenied(_("Log in to read door-visit coverage."))
    if user.role in COUNTY_WIDE:
        return Q()
    unit = user.unit if user.role == Role.HANDLER else None
    if unit is not None and unit.region_id is not None:
        if unit.kind == Unit.Kind.TOWNSHIP:
            return Q(region__parent__parent_id=unit.region_id)
        if unit.kind == Unit.Kind.VILLAGE:
            return Q(region__parent_id=unit.region_id)
    raise PermissionDenied(
        _("Door-visit coverage is for township and village handlers, supervisors and leaders.")
    )


def may_read_grid(user: User, grid: Unit) -> bool:
    """Whether ``user`` reads the visits of ``grid``."""
    if not _active(user):
        return False
    if user.role == Role.GRID_WORKER:
        return user.unit_id == grid.pk
    try:
        scope = grids_q(user)
    except PermissionDenied:
        return False
    return Unit.objects.filter(scope, pk=grid.pk).exists()


def sees_full_phones(user: User, grid: Unit) -> bool:
    if not _active(user):
        return False
    if user.role == Role.GRID_WORKER:
        return user.unit_id == grid.pk
    return user.role in FULL_PHONES


def top_level(user: User) -> str:
    """The highest level of the coverage table ``user`` reads whole: a village's handlers see
    their village and its grids, not a township row made of one village."""
    unit = user.unit if user.role == Role.HANDLER else None
    return "village" if unit is not None and unit.kind == Unit.Kind.VILLAGE else "township"
