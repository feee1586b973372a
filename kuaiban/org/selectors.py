"""Reads for the organisation domain."""

from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.db.models import QuerySet

from kuaiban.org.models import ApiToken, Region, User

# Kilometres in one degree of latitude (and of longitude at the equator).
KM_PER_DEGREE = 111.32


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """``user``'s own API tokens, newest first (their keys are never stored)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


# ----- where an appeal happened -------------------------------------------------------------------


def region_from_place(address: str, point: tuple[Decimal, Decimal] | None) -> Region | None:
    """The region an appeal with no region given happened in, from its address or its pin.

    The address first: the deepest region whose full name it contains (a grid, else a village
    or community, else a township); a name shared by several (two 新庄村 in two townships) is
    settled by the township's name in the same address, and left open if it is not there. Then
    the pin: the village or community whose centre is nearest, within
    ``KUAIBAN_REGION_PIN_KM``. None when neither tells (an operator sets it at dispatch)."""
    return (_region_from_address(address) if address else None) or (
        _region_from_point(point) if point else None
    )


_DEPTH: dict[str, int] = {Region.Level.GRID: 3, Region.Level.VILLAGE: 2, Region.Level.TOWNSHIP: 1}


def _region_from_address(address: str) -> Region | None:
    named = [
        r
        for r in Region.objects.exclude(level=Region.Level.COUNTY).select_related("parent")
        if len(r.name) >= 2 and r.name in address
    ]
    if not named:
        return None
    deepest = max(_DEPTH.get(r.level, 0) for r in named)
    candidates = [r for r in named if _DEPTH.get(r.level, 0) == deepest]
    if len(candidates) > 1:
        # The same name under several townships: the one whose township is named too.
        candidates = [r for r in candidates if (t := r.township) is not None and t.name in address]
    return candidates[0] if len(candidates) == 1 else None


def _region_from_point(point: tuple[Decimal, Decimal]) -> Region | None:
    lat, lng = float(point[0]), float(point[1])
    radius = float(settings.KUAIBAN_REGION_PIN_KM)
    d_lat = radius / KM_PER_DEGREE
    d_lng = radius / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    near = Region.objects.filter(
        level=Region.Level.VILLAGE,
        lat__range=(lat - d_lat, lat + d_lat),
        lng__range=(lng - d_lng, lng + d_lng),
    )
    best, best_km = None, radius
    for region in near:
        km = _km(lat, lng, float(region.lat or 0), float(region.lng or 0))
        if km <= best_km:
            best, best_km = region, km
    return best


def _km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Distance on the sphere (haversine); a county is small enough for nothing finer."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(a))
