from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from kuaiban.org.models import Region, Unit

router = Router(tags=["directory"])


class UnitOut(Schema):
    code: str
    name: str
    kind: str


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None


@router.get("/units", response=list[UnitOut], summary="Units that handle appeals")
def list_units(request: HttpRequest) -> list[UnitOut]:
    return [
        UnitOut(code=u.code, name=u.name, kind=u.kind) for u in Unit.objects.filter(active=True)
    ]


@router.get("/regions", response=list[RegionOut], summary="The region tree, flattened")
def list_regions(request: HttpRequest) -> list[RegionOut]:
    return [
        RegionOut(
            code=r.code, name=r.name, level=r.level, parent=r.parent.code if r.parent else None
        )
        for r in Region.objects.select_related("parent")
    ]
