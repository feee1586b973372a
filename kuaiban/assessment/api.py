"""GET /api/v1/assessment/cadres and GET /api/v1/assessment/key-work: the double ranking."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kuaiban.api.schemas import ErrorOut, QuerySchema
from kuaiban.assessment import services
from kuaiban.org.models import User

router = Router(tags=["assessment"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}
PERIOD = "A month (2026-11), a quarter (2026-Q4) or a year (2026); default: this month"


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class CadreRankOut(Schema):
    username: str
    name: str
    unit: str | None = Field(description="Unit code; null for a county leader")
    unit_name: str | None
    rank: int | None = Field(description="Within the team; equal scores share a rank")
    score: float | None = Field(description="Points 0–100 (docs/metrics.md, Assessment)")
    enterprises: int = Field(description="Enterprises looked after (包保) in the period")
    enterprises_visited: int
    visits: int = Field(description="包保 visits made in the period")
    problems: int = Field(description="Appeals of those enterprises received in the period")
    closed: int
    replied: int
    replied_on_time: int
    due_passed_unreplied: int
    rated: int
    satisfied: int
    visit_coverage: float | None
    closure_rate: float | None
    on_time_rate: float | None
    satisfaction_rate: float | None


class TeamOut(Schema):
    key: str = Field(description="The unit's code, or 'county' for the county leaders")
    name: str
    cadres: list[CadreRankOut]


class CadreRankingOut(Schema):
    period: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    weights: dict[str, int]
    teams: list[TeamOut]


class CadreParams(QuerySchema):
    period: str | None = Field(None, description=PERIOD, max_length=16)
    team: str | None = Field(None, description="One team: a unit code or 'county'", max_length=40)


class KeyWorkUnitOut(Schema):
    key: str
    name: str
    rank: int | None
    score: float | None
    orders: int = Field(description="Supervision orders issued in the period (withdrawn left out)")
    red: int
    cleared: int = Field(description="销号: answered and closed by the supervisor")
    closed_on_time: int = Field(description="Cleared, the accepted answer by the deadline")
    overdue_open: int
    sent_back: int
    on_time_rate: float | None
    clearance_rate: float | None


class KeyWorkTierOut(Schema):
    kind: str
    name: str
    units: list[KeyWorkUnitOut]


class KeyWorkRankingOut(Schema):
    period: str
    from_: dt.date = Field(alias="from")
    to: dt.date
    weights: dict[str, int]
    tiers: list[KeyWorkTierOut]


class KeyWorkParams(QuerySchema):
    period: str | None = Field(None, description=PERIOD, max_length=16)


@router.get(
    "/assessment/cadres",
    response={200: CadreRankingOut, **ERRORS},
    summary="Cadres ranked within their leadership team (双排名: 班子内部)",
    by_alias=True,
)
def get_cadre_ranking(request: HttpRequest, params: Query[CadreParams]) -> dict[str, object]:
    team = services.cadre_scope(_user(request), params.team)
    return services.cadre_ranking(params.period, team=team)


@router.get(
    "/assessment/key-work",
    response={200: KeyWorkRankingOut, **ERRORS},
    summary="Units ranked on the county's key work, the supervision orders (双排名: 重点工作)",
    by_alias=True,
)
def get_key_work_ranking(request: HttpRequest, params: Query[KeyWorkParams]) -> dict[str, object]:
    services.ensure_key_work_reader(_user(request))
    return services.key_work_ranking(params.period)
