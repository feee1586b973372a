"""敲门行动 under /api/v1/doors: focus lists, visits at the door, coverage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema
from kuaiban.doors import selectors, services
from kuaiban.org.models import User

router = Router(tags=["doors"])


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class DoorsFocusListIn(InputSchema):
    quarter: str = Field(..., description="e.g. 2026-Q4: this quarter or the next", max_length=7)
    topics: list[str] = Field(..., description="What to ask households, 1–10 topics")
    unit: str | None = Field(None, description="Unit code; only an administrator names it")


class DoorsFocusListOut(Schema):
    id: int
    unit: str
    quarter: str
    topics: list[str]
    published_at: dt.datetime


class DoorsProblemIn(InputSchema):
    content: str = Field(..., max_length=2000)
    kind: str = Field("help", description="complaint, help, consultation or suggestion")
    title: str | None = Field(None, max_length=120)


class DoorsVisitIn(InputSchema):
    grid: str | None = Field(None, description="Grid unit code; your own grid only")
    address: str = Field(..., max_length=200)
    nobody_home: bool = False
    met: str | None = Field(None, description="Who was met", max_length=100)
    phone: str | None = Field(None, max_length=20)
    raised: str | None = Field(None, description="What was raised", max_length=2000)
    answers: dict[int, str] = Field(
        default_factory=dict, description="Topic number (from 1) → the household's answer"
    )
    problems: list[DoorsProblemIn] = Field(
        default_factory=list, description="Each becomes an appeal (channel visit), at most 5"
    )


class DoorsVisitOut(Schema):
    id: int
    grid: str
    quarter: str
    visited_at: dt.datetime
    address: str
    nobody_home: bool
    met: str
    phone: str
    raised: str
    answers: list[dict[str, str]]
    appeals: list[str]


class DoorsCoverageRowOut(Schema):
    level: str
    code: str
    name: str
    parent: str | None
    unit: str | None
    grids: int
    households: int
    visited: int
    coverage: float | None = Field(..., description="visited / households; null if unknown")
    nobody_home: int
    raised: int = Field(..., description="Households that raised at least one problem")
    appeals: int = Field(..., description="Appeals opened from the visits")


class DoorsCoverageOut(Schema):
    quarter: str
    total: DoorsCoverageRowOut
    rows: list[DoorsCoverageRowOut]


def _row(row: selectors.CoverageRow) -> dict[str, Any]:
    return {
        "level": row.level,
        "code": row.code,
        "name": row.name,
        "parent": row.parent,
        "unit": row.unit,
        "grids": row.grids,
        "households": row.households,
        "visited": row.visited,
        "coverage": None if row.coverage is None else round(row.coverage, 4),
        "nobody_home": row.nobody_home,
        "raised": row.raised,
        "appeals": row.appeals,
    }


def _visit(view: selectors.VisitView) -> dict[str, Any]:
    v = view.visit
    return {
        "id": v.pk,
        "grid": v.grid.code,
        "quarter": v.quarter,
        "visited_at": v.visited_at,
        "address": v.address,
        "nobody_home": v.nobody_home,
        "met": v.met,
        "phone": view.phone,
        "raised": v.raised,
        "answers": v.answers,
        "appeals": view.appeal_numbers,
    }


@router.get(
    "/doors/coverage",
    response={200: DoorsCoverageOut, **ERRORS},
    summary="Door-visit coverage of a quarter per township, village and grid",
)
def get_coverage(request: HttpRequest, quarter: str | None = None) -> dict[str, Any]:
    result = selectors.coverage(user=_user(request), quarter=services.clean_quarter(quarter))
    return {
        "quarter": result.quarter,
        "total": _row(result.total),
        "rows": [_row(r) for r in result.rows],
    }


@router.post(
    "/doors/focus-lists",
    response={201: DoorsFocusListOut, **ERRORS},
    summary="Publish a township's or village's focus list for a quarter",
)
def publish_focus_list(request: HttpRequest, payload: DoorsFocusListIn) -> Status[dict[str, Any]]:
    focus = services.focus_list_publish(actor=_user(request), **payload.dict())
    return Status(
        201,
        {
            "id": focus.pk,
            "unit": focus.unit.code,
            "quarter": focus.quarter,
            "topics": focus.topics,
            "published_at": focus.published_at,
        },
    )


@router.post(
    "/doors/visits",
    response={201: DoorsVisitOut, **ERRORS},
    summary="A grid worker records a household visit; each problem becomes an appeal",
)
def record_visit(request: HttpRequest, payload: DoorsVisitIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    data["problems"] = [services.ProblemInput(**p) for p in data["problems"]]
    user = _user(request)
    visit = services.door_visit_record(actor=user, data=services.VisitInput(**data))
    numbers = [a.number for a in visit.appeals.all() if a.number]
    # The recorder is the grid's own worker, who reads the household's phone in full.
    return Status(201, _visit(selectors.VisitView(visit, visit.phone, numbers)))


@router.get(
    "/doors/grids/{code}/visits",
    response={200: list[DoorsVisitOut], **ERRORS},
    summary="A grid's visits in a quarter (phones masked unless you need them)",
)
def list_visits(
    request: HttpRequest, code: str, quarter: str | None = None
) -> list[dict[str, Any]]:
    page = selectors.grid_visits(
        user=_user(request), grid_code=code, quarter=services.clean_quarter(quarter)
    )
    return [_visit(v) for v in page.visits]
