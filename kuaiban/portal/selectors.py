"""Public reads: the map of recent appeals (no login, no personal data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals.models import CONFIDENTIAL_KINDS, Appeal, Category, Status
from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.core.maps import blur

# What the public map may show and filter by: spam (invalid) and duplicates (merged, their
# master is shown) never appear.
MAP_STATUSES = (
    Status.RECEIVED,
    Status.DISPATCHED,
    Status.IN_PROGRESS,
    Status.REPLIED,
    Status.VISITED,
    Status.CLOSED,
)
MAP_OPEN = "open"  # every status before closed
MAX_DAYS = 365


@dataclass(frozen=True)
class MapFilter:
    category: str = ""  # a category's code: it and everything below it
    status: str = ""  # one of MAP_STATUSES, or MAP_OPEN
    days: int = 0  # 0: the setting (KUAIBAN_MAP_PUBLIC_DAYS)

    @property
    def window(self) -> int:
        return self.days or int(settings.KUAIBAN_MAP_PUBLIC_DAYS)

    @classmethod
    def from_params(cls, params: Any) -> MapFilter:
        """Parse query parameters, refusing unknown values by field name."""
        errors: list[FieldError] = []
        category = str(params.get("category") or "").strip()
        if category and (len(category) > 32 or not Category.objects.filter(code=category).exists()):
            errors.append(FieldError("category", _("No such category.")))
            category = ""
        status = str(params.get("status") or "").strip()
        if status and status != MAP_OPEN and status not in MAP_STATUSES:
            errors.append(FieldError("status", _("Unknown value %(value)r.") % {"value": status}))
            status = ""
        raw_days = str(params.get("days") or "").strip()
        days = 0
        if raw_days:
            if not raw_days.isdigit() or not 1 <= int(raw_days) <= MAX_DAYS:
                errors.append(
                    FieldError("days", _("A whole number from 1 to %(max)d.") % {"max": MAX_DAYS})
                )
            else:
                days = int(raw_days)
        if errors:
            raise ValidationFailed(errors)
        return cls(category=category, status=status, days=days)

    def query(self) -> dict[str, str]:
        """The filter as query parameters (empty ones left out)."""
        pairs = {"category": self.category, "status": self.status}
        pairs["days"] = str(self.days) if self.days else ""
        return {k: v for k, v in pairs.items() if v}


def _category_ids(code: str) -> list[int]:
    """The category and everything below it."""
    root = Category.objects.filter(code=code).values_list("pk", flat=True).first()
    if root is None:
        return []
    ids, frontier = [root], [root]
    while frontier:
        frontier = list(
            Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        )
        ids.extend(frontier)
    return ids


@dataclass(frozen=True)
class MapPoint:
    """One appeal as the public map shows it: nothing that names or finds a person."""

    category: str
    status: str
    status_label: str
    received: dt.date
    lat: float  # snapped to the public grid (core.maps.blur), never the stored point
    lng: float


def public_points(f: MapFilter) -> list[MapPoint]:
    """Recent non-confidential appeals with a point, newest first, blurred to about 100 m."""
    since = timezone.now() - dt.timedelta(days=f.window)
    qs = (
        Appeal.objects.filter(
            received_at__gte=since,
            lat__isnull=False,
            lng__isnull=False,
            status__in=MAP_STATUSES,
        )
        .exclude(kind__in=CONFIDENTIAL_KINDS)
        .order_by("-received_at", "-id")
    )
    if f.status == MAP_OPEN:
        qs = qs.exclude(status=Status.CLOSED)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.category:
        qs = qs.filter(category_id__in=_category_ids(f.category))
    rows = qs.values_list("category__name", "status", "received_at", "lat", "lng")
    return [
        MapPoint(
            category=category or "",
            status=status,
            status_label=str(Status(status).label),
            received=timezone.localdate(received_at),
            lat=blur(lat),
            lng=blur(lng),
        )
        for category, status, received_at, lat, lng in rows[: int(settings.KUAIBAN_MAP_MAX_POINTS)]
        if lat is not None and lng is not None  # the filter's; said again for the types
    ]


def map_categories() -> list[Category]:
    """The public map's category filter: the top of the tree."""
    return list(Category.objects.filter(parent__isnull=True).order_by("code"))
