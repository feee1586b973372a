"""The reads of 敲门行动: coverage per grid, village and township, a grid's visits.

Coverage of a quarter (docs/metrics.md, "Door-visit coverage"): households met at the door (a
household is its folded address; a second visit to it counts once; a visit with nobody home does
not count) over the grid's households (``GridHouseholds``), summed up the region tree for
villages and townships.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from kuaiban.core.errors import NotFound, PermissionDenied
from kuaiban.core.validation import mask_phone
from kuaiban.doors import rules
from kuaiban.doors.models import DoorVisit, GridHouseholds
from kuaiban.doors.services import Topic, topics_for
from kuaiban.org.models import Role, Unit, User


@dataclass
class CoverageRow:
    level: str  # "township", "village", "grid"
    code: str  # the region's code
    name: str
    parent: str | None  # the parent region's code (None for a township)
    unit: str | None  # the unit's code, where the region has one
    households: int = 0
    visited: int = 0
    nobody_home: int = 0  # households knocked at with nobody home, not met later
    raised: int = 0  # households that raised at least one problem
    appeals: int = 0
    grids: int = 0

    @property
    def coverage(self) -> float | None:
        """Visited over households; None where no household count is known."""
        return self.visited / self.households if self.households else None

    def add(self, other: CoverageRow) -> None:
        self.households += other.households
        self.visited += other.visited
        self.nobody_home += other.nobody_home
        self.raised += other.raised
        self.appeals += other.appeals
        self.grids += other.grids


@dataclass
class Coverage:
    quarter: str
    rows: list[CoverageRow]  # each township, then its villages, each village then its grids
    total: CoverageRow = field(default_factory=lambda: CoverageRow("county", "", "", None, None))


def coverage(*, user: User, quarter: str) -> Coverage:
    """The quarter's coverage of the grids ``user`` may read (403 for other roles)."""
    grids = list(
        Unit.objects.filter(rules.grids_q(user), kind=Unit.Kind.GRID, region__isnull=False)
        .select_related("region__parent__parent")
        .order_by("region__code")
    )
    counts = dict(
        GridHouseholds.objects.filter(grid__in=grids).values_list("grid_id", "households")
    )
    figures = {
        row["grid_id"]: row
        for row in DoorVisit.objects.filter(quarter=quarter, grid__in=grids)
        .values("grid_id")
        .annotate(
            attempted=Count("household", distinct=True),
            visited=Count("household", distinct=True, filter=Q(nobody_home=False)),
            raised=Count("household", distinct=True, filter=Q(appeals__isnull=False)),
            appeals_n=Count("appeals", distinct=True),
        )
    }
    local_units = _local_units(grids)
    result = Coverage(quarter=quarter, rows=[])
    parents: dict[str, CoverageRow] = {}
    for grid in grids:
        region = grid.region
        assert region is not None
        f: dict[str, Any] = dict(figures.get(grid.pk, {}))
        row = CoverageRow(
            "grid",
            region.code,
            region.name,
            region.parent.code if region.parent else None,
            grid.code,
            households=counts.get(grid.pk, 0),
            visited=f.get("visited", 0),
            nobody_home=f.get("attempted", 0) - f.get("visited", 0),
            raised=f.get("raised", 0),
            appeals=f.get("appeals_n", 0),
            grids=1,
        )
        chain = [r for r in (region.parent, region.parent.parent if region.parent else None) if r]
        for level, up in zip(("village", "township"), chain, strict=False):
            if up.code not in parents:
                parents[up.code] = CoverageRow(
                    level,
                    up.code,
                    up.name,
                    up.parent.code if level == "village" and up.parent else None,
                    local_units.get(up.pk),
                )
            parents[up.code].add(row)
        result.total.add(row)
        parents[row.code] = row
    if rules.top_level(user) == "village":
        parents = {k: r for k, r in parents.items() if r.level != "township"}
    result.rows = _ordered(parents)
    return result


def _local_units(grids: list[Unit]) -> dict[int, str]:
    """Region id → unit code, for the villages and townships above ``grids``."""
    ids: set[int] = set()
    for g in grids:
        region = g.region
        if region is not None and region.parent is not None:
            ids.add(region.parent.pk)
            if region.parent.parent_id is not None:
                ids.add(region.parent.parent_id)
    return dict(
        Unit.objects.filter(region_id__in=ids, kind__in=rules.PUBLISHING_KINDS).values_list(
            "region_id", "code"
        )
    )


def _ordered(rows: dict[str, CoverageRow]) -> list[CoverageRow]:
    """Townships in code order, each followed by its villages, each by its grids."""
    children: dict[str | None, list[CoverageRow]] = {}
    tops = {r.code for r in rows.values()}
    for row in rows.values():
        key = row.parent if row.level != "township" and row.parent in tops else None
        children.setdefault(key, []).append(row)
    out: list[CoverageRow] = []

    def walk(parent: str | None) -> None:
        for row in sorted(children.get(parent, []), key=lambda r: r.code):
            out.append(row)
            walk(row.code)

    walk(None)
    return out


@dataclass(frozen=True)
class VisitView:
    visit: DoorVisit
    phone: str  # in full or masked, as the reader may see it
    appeal_numbers: list[str]


@dataclass(frozen=True)
class GridVisits:
    grid: Unit
    quarter: str
    topics: list[Topic]
    visits: list[VisitView]
    households: int | None
    may_record: bool


def grid_visits(*, user: User, grid_code: str, quarter: str, limit: int = 200) -> GridVisits:
    """One grid's visits in a quarter, newest first, for the readers ``rules`` names."""
    grid = (
        Unit.objects.select_related("region__parent__parent")
        .filter(code=grid_code, kind=Unit.Kind.GRID)
        .first()
    )
    if grid is None:
        raise NotFound(_("No such grid."))
    if not rules.may_read_grid(user, grid):
        raise PermissionDenied(_("You may not read this grid's visits."))
    full = rules.sees_full_phones(user, grid)
    rows = (
        DoorVisit.objects.filter(grid=grid, quarter=quarter)
        .select_related("visited_by")
        .prefetch_related("appeals")[:limit]
    )
    households = GridHouseholds.objects.filter(grid=grid).values_list("households", flat=True)
    return GridVisits(
        grid=grid,
        quarter=quarter,
        topics=topics_for(grid, quarter),
        visits=[
            VisitView(
                v,
                v.phone if full else mask_phone(v.phone),
                [a.number for a in v.appeals.all() if a.number],
            )
            for v in rows
        ],
        households=households.first(),
        may_record=user.role == Role.GRID_WORKER and user.unit_id == grid.pk,
    )
